internal import CGnuTLS
internal import CNghttp3
internal import CNgtcp2

/// ngtcp2's callbacks: the crypto ones from its GnuTLS helper, the rest forwarding to the
/// connection (user data) and its HTTP/3 layer. Each returns 0, or
/// `NGTCP2_ERR_CALLBACK_FAILURE`, which ends the connection.
enum QUICCallbacks {

    static func table(dialling: Bool) -> ngtcp2_callbacks {
        var callbacks = ngtcp2_callbacks()
        if dialling {
            callbacks.client_initial = ngtcp2_crypto_client_initial_cb
            callbacks.recv_retry = ngtcp2_crypto_recv_retry_cb
        } else {
            callbacks.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb
        }
        callbacks.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb
        callbacks.encrypt = ngtcp2_crypto_encrypt_cb
        callbacks.decrypt = ngtcp2_crypto_decrypt_cb
        callbacks.hp_mask = ngtcp2_crypto_hp_mask_cb
        callbacks.update_key = ngtcp2_crypto_update_key_cb
        callbacks.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb
        callbacks.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb
        callbacks.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb
        callbacks.version_negotiation = ngtcp2_crypto_version_negotiation_cb

        callbacks.rand = { dest, length, _ in _ = gnutls_rnd(GNUTLS_RND_RANDOM, dest, length) }
        callbacks.get_new_connection_id = { _, cid, token, length, user in
            let connection = QUICConnection.from(user)
            let fresh = QUICConnection.randomCID(length)
            cid!.pointee = fresh
            QUICConnection.resetToken(for: fresh, secret: connection.owner.credentials.resetSecret, into: token!)
            connection.adopt(QUICConnection.bytes(of: fresh))
            return 0
        }
        callbacks.remove_connection_id = { _, cid, user in
            QUICConnection.from(user).forget(QUICConnection.bytes(of: cid!.pointee))
            return 0
        }
        // The peer is authenticated here, before ngtcp2 hands us any stream data of the
        // packets that finished the handshake: a request is never seen from an unknown sender.
        callbacks.handshake_completed = { _, user in
            QUICConnection.from(user).handshakeCompleted() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        // HTTP/3 needs its control and QPACK streams as early as 1-RTT keys exist: the
        // answering side sends its SETTINGS with its first 1-RTT packets, and the dialling
        // side must be ready for them.
        if dialling {
            callbacks.recv_rx_key = { _, level, user in
                guard level == NGTCP2_CRYPTO_LEVEL_APPLICATION else { return 0 }
                return QUICConnection.from(user).startHTTP3() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
            }
        } else {
            callbacks.recv_tx_key = { _, level, user in
                guard level == NGTCP2_CRYPTO_LEVEL_APPLICATION else { return 0 }
                return QUICConnection.from(user).startHTTP3() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
            }
        }
        callbacks.recv_stream_data = { _, flags, stream, _, data, length, user, _ in
            QUICConnection.from(user).streamData(stream, data, length, fin: flags & UInt32(NGTCP2_STREAM_DATA_FLAG_FIN) != 0) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        callbacks.acked_stream_data_offset = { _, stream, _, length, user, _ in
            guard let h3 = QUICConnection.from(user).h3 else { return 0 }
            return nghttp3_conn_add_ack_offset(h3, stream, length) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        callbacks.stream_close = { _, flags, stream, code, user, _ in
            let appCode = flags & UInt32(NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0 ? code : UInt64(NGHTTP3_H3_NO_ERROR)
            return QUICConnection.from(user).streamClosed(stream, code: appCode) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        // The peer reset its sending side, or we stopped reading (ngtcp2 calls stream_stop_sending
        // for our own shutdown_stream_read): either way nothing more arrives on the stream. A
        // peer's STOP_SENDING needs nothing from us: ngtcp2 resets our sending side itself, and
        // our body's pump ends when the stream closes.
        callbacks.stream_reset = { _, stream, _, _, user, _ in
            QUICConnection.from(user).noMoreInbound(stream) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        callbacks.stream_stop_sending = { _, stream, _, user, _ in
            QUICConnection.from(user).noMoreInbound(stream) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        callbacks.extend_max_remote_streams_bidi = { _, max, user in
            if let h3 = QUICConnection.from(user).h3 { nghttp3_conn_set_max_client_streams_bidi(h3, max) }
            return 0
        }
        callbacks.extend_max_local_streams_bidi = { _, _, user in
            QUICConnection.from(user).streamCreditArrived = true
            return 0
        }
        callbacks.extend_max_stream_data = { _, stream, _, user, _ in
            guard let h3 = QUICConnection.from(user).h3 else { return 0 }
            return nghttp3_conn_unblock_stream(h3, stream) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE
        }
        return callbacks
    }
}
