/* The backend subscriber's transport (sub_conn.h): broker URL, TCP, TLS. */
#include "sub_conn.h"

#include "facefleet/error.h"
#include "facefleet/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_COMP "subscriber"

int be_conn_parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
		      bool *tls)
{
	const char *hp, *colon;
	*tls = false;
	if (strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0) {
		*tls = true;
		hp = strstr(url, "://") + 3;
	} else if (strncmp(url, "tcp://", 6) == 0)
		hp = url + 6;
	else if (strncmp(url, "mqtt://", 7) == 0)
		hp = url + 7;
	else
		return FF_ERR_INVAL;
	colon = strrchr(hp, ':');
	if (!colon || colon == hp || (size_t)(colon - hp) >= hcap ||
	    strlen(colon + 1) == 0 || strlen(colon + 1) >= pcap)
		return FF_ERR_INVAL;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	return FF_OK;
}

int be_conn_tcp(const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, one = 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int err = 0;
		socklen_t el = sizeof(err);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
			goto next;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
		    err)
			goto next;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		{ /* bound a stalled write, a TLS handshake and a TLS record */
			struct timeval tv = { 5, 0 };
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
		break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The context: TLS 1.2+, the broker's certificate must chain to ca_file.
 * NULL (logged) when the file cannot be used. */
SSL_CTX *be_conn_tls_context(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) &&
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		return ctx;
	}
	ff_log_error(LOG_COMP, "event=tls_ca_failed ca_file=%s err=\"%s\"", ca_file,
		     ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_free(ctx);
	return NULL;
}

/* The handshake on a connected blocking socket (its 5 s timeouts bound it):
 * the certificate must chain to our CA and name the host (or IP) we dialled. */
SSL *be_conn_tls_handshake(SSL_CTX *ctx, int fd, const char *host)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	SSL *ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    !(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
		    : SSL_set1_host(ssl, host) && SSL_set_tlsext_host_name(ssl, host)) ||
	    SSL_connect(ssl) != 1) {
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		ff_log_error(LOG_COMP, "event=tls_failed host=%s err=\"%s\"", host,
			     v != X509_V_OK ? X509_verify_cert_error_string(v)
					    : ERR_reason_error_string(ERR_get_error()));
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}
