/* backend/sub_conn.h: the transport of the backend's inbound MQTT session
 * (subscriber.c): the broker URL, a TCP connection, TLS. */
#ifndef BE_BACKEND_SUB_CONN_H
#define BE_BACKEND_SUB_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* tcp://, mqtt://, ssl:// or mqtts:// HOST:PORT into host and port; *tls for
 * the last two. Returns FF_OK or FF_ERR_INVAL. */
int be_conn_parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
		      bool *tls);
/* A connected blocking TCP socket to host:port, with Nagle off and 5 s send
 * and receive timeouts; -1 when no address answers within 5 s. */
int be_conn_tcp(const char *host, const char *port);
/* TLS 1.2+ whose peer must chain to ca_file; NULL (logged) when unusable. */
SSL_CTX *be_conn_tls_context(const char *ca_file);
/* The handshake on a connected socket: the certificate must chain to the
 * context's CA and name host (or its IP). NULL (logged) when refused. */
SSL *be_conn_tls_handshake(SSL_CTX *ctx, int fd, const char *host);

#endif
