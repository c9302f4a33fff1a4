internal import CNghttp3
internal import CNgtcp2
import StowageCore

/// nghttp3's callbacks, forwarding to the connection (its user data). Each returns 0, or
/// `NGHTTP3_ERR_CALLBACK_FAILURE`, which ends the connection.
enum HTTP3Callbacks {
    static func table() -> nghttp3_callbacks {
        var callbacks = nghttp3_callbacks()
        callbacks.acked_stream_data = { _, stream, count, user, _ in
            QUICConnection.from(user).streams[stream]?.outbound?.acknowledged(Int(count))
            return 0
        }
        callbacks.stream_close = { _, stream, code, user, _ in
            QUICConnection.from(user).forgetStream(stream, code: code)
            return 0
        }
        callbacks.recv_data = { _, stream, data, length, user, _ in
            QUICConnection.from(user).bodyData(stream, data, length)
            return 0
        }
        callbacks.deferred_consume = { _, stream, consumed, user, _ in
            let connection = QUICConnection.from(user)
            ngtcp2_conn_extend_max_stream_offset(connection.conn, stream, UInt64(consumed))
            ngtcp2_conn_extend_max_offset(connection.conn, UInt64(consumed))
            return 0
        }
        callbacks.begin_headers = { _, stream, user, _ in
            QUICConnection.from(user).headBegins(stream)
            return 0
        }
        callbacks.recv_header = { _, stream, _, name, value, _, user, _ in
            let connection = QUICConnection.from(user)
            guard let state = connection.streams[stream], let name, let value else { return 0 }
            let nameBytes = nghttp3_rcbuf_get_buf(name), valueBytes = nghttp3_rcbuf_get_buf(value)
            state.headBytes += nameBytes.len + valueBytes.len + 32
            guard state.headBytes <= QUICConnection.maxHeadBytes else {
                state.headTooLarge = true
                state.head = []
                return 0
            }
            state.head.append((
                String(decoding: UnsafeBufferPointer(start: nameBytes.base, count: nameBytes.len), as: UTF8.self),
                String(decoding: UnsafeBufferPointer(start: valueBytes.base, count: valueBytes.len), as: UTF8.self)))
            return 0
        }
        callbacks.end_headers = { _, stream, fin, user, _ in
            QUICConnection.from(user).headEnds(stream, fin: fin != 0)
            return 0
        }
        callbacks.end_stream = { _, stream, user, _ in
            let connection = QUICConnection.from(user)
            connection.deliverInbound(stream)
            connection.streams[stream]?.inbound?.finish()
            return 0
        }
        callbacks.stop_sending = { _, stream, code, user, _ in
            let result = ngtcp2_conn_shutdown_stream_read(QUICConnection.from(user).conn, stream, code)
            return result == 0 || result == NGTCP2_ERR_STREAM_NOT_FOUND ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE
        }
        callbacks.reset_stream = { _, stream, code, user, _ in
            let result = ngtcp2_conn_shutdown_stream_write(QUICConnection.from(user).conn, stream, code)
            return result == 0 || result == NGTCP2_ERR_STREAM_NOT_FOUND ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE
        }
        return callbacks
    }

    /// The data reader of every body we send: what the stream's pump queued, or "would
    /// block" until it queues more (then the connection resumes the stream).
    static func reader() -> nghttp3_data_reader {
        nghttp3_data_reader(read_data: { _, stream, vectors, capacity, flags, user, _ in
            let connection = QUICConnection.from(user)
            guard let outbound = connection.streams[stream]?.outbound, let taken = outbound.take(limit: capacity) else {
                return Int(NGHTTP3_ERR_WOULDBLOCK)
            }
            for (index, chunk) in taken.chunks.enumerated() {
                vectors![index] = nghttp3_vec(
                    base: UnsafeMutablePointer(mutating: chunk.baseAddress!.assumingMemoryBound(to: UInt8.self)), len: chunk.count)
            }
            if taken.end { flags!.pointee |= UInt32(NGHTTP3_DATA_FLAG_EOF) }
            return taken.chunks.count
        })
    }
}
