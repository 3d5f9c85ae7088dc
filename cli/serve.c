// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan serve: the metrics of pagescan export over HTTP/1.1, for
 * Prometheus to scrape.  One thread, one poll loop: a scrape scans the
 * processes while the other clients wait, which is what a scrape every
 * few seconds needs, and nothing can race.  Every client is hostile
 * until its request parses: the request head is bounded (8 KiB), the
 * client has --timeout seconds to send it and again to read the answer,
 * at most MAX_CONN are served at once, no body is ever read, and every
 * answer closes the connection.  SIGTERM and SIGINT arrive through a
 * signalfd in the same loop: the loop ends, everything is closed, exit 0.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prom.h"

#define MAX_CONN 64
#define MAX_HEAD 8192

enum cstate { C_READ, C_WRITE, C_DRAIN };

struct conn {
	int fd;
	enum cstate state;
	double deadline;
	size_t inlen;
	char in[MAX_HEAD + 1];
	struct obuf out;
	size_t off;
};

struct server {
	const struct export_opts *eo;
	int lfd, sfd;
	struct conn *c[MAX_CONN];
	size_t nc;
	struct serve_stats st;
};

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* "127.0.0.1:9572", "[::1]:9572", "0.0.0.0:0": a bound, listening socket. */
static int listen_on(const char *spec, char *shown, size_t len)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port[16], h[NI_MAXHOST], p[NI_MAXSERV];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *colon;
	size_t hl;
	int fd, one = 1, ret;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - spec - 1);
		colon = rb + 1;
		spec++;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - spec);
	}
	if (!hl || hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port) ||
	    !colon[1])
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	{
		uint64_t v;

		if (parse_u64(port, &v) || v > 65535)
			return -EINVAL;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &ai) || !ai)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		ret = -errno;
		freeaddrinfo(ai);
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		ret = -errno;
		close(fd);
		freeaddrinfo(ai);
		return ret;
	}
	freeaddrinfo(ai);
	if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(shown, len, "?");
	else
		snprintf(shown, len, ss.ss_family == AF_INET6 ? "[%s]:%s" :
			 "%s:%s", h, p);
	return fd;
}

static void conn_close(struct server *sv, size_t i)
{
	struct conn *c = sv->c[i];

	close(c->fd);
	ob_free(&c->out);
	free(c);
	sv->c[i] = sv->c[--sv->nc];
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

static void count(struct server *sv, int code)
{
	static const int codes[5] = { 200, 400, 404, 405, 408 };
	int i;

	for (i = 0; i < 5; i++)
		if (codes[i] == code)
			break;
	sv->st.requests[i]++;
}

/* The answer, whole, into c->out; then it is written as poll allows. */
static void respond(struct server *sv, struct conn *c, int code,
		    const char *type, const char *body, size_t len, bool head)
{
	ob_printf(&c->out, "HTTP/1.1 %d %s\r\nServer: pagescan/%s\r\n"
		  "Content-Type: %s\r\nContent-Length: %zu\r\n"
		  "Connection: close\r\n", code, reason(code),
		  pagescan_version_string(), type, len);
	if (code == 405)
		ob_puts(&c->out, "Allow: GET, HEAD\r\n");
	ob_puts(&c->out, "\r\n");
	if (!head)
		ob_putn(&c->out, body, len);
	c->state = C_WRITE;
	c->off = 0;
	c->deadline = mono() + sv->eo->timeout;
	count(sv, code);
}

static void respond_text(struct server *sv, struct conn *c, int code,
			 const char *msg)
{
	respond(sv, c, code, "text/plain; charset=utf-8", msg, strlen(msg),
		false);
}

/* The q of one media range of an Accept header (1 unless it says). */
static double qvalue(const char *params, const char *end)
{
	const char *p = params;

	while (p && p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p > 2 && (p[0] == 'q' || p[0] == 'Q') &&
		    p[1] == '=') {
			char b[16];
			size_t n = 0;

			p += 2;
			while (p < end && n < sizeof(b) - 1 && *p != ';')
				b[n++] = *p++;
			b[n] = '\0';
			return strtod(b, NULL);
		}
		while (p < end && *p != ';')
			p++;
	}
	return 1;
}

/*
 * OpenMetrics if the client ranks it at least as high as the text
 * format (Prometheus asks for it first), else the text format, also for
 * a client that accepts neither: it is what every scraper reads.
 */
static bool wants_om(const char *accept)
{
	double om = 0, text = 0;
	const char *p = accept;

	while (p && *p) {
		const char *e = strchr(p, ','), *semi, *t;
		size_t tl;
		double q;

		if (!e)
			e = p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		for (semi = p; semi < e && *semi != ';'; semi++)
			;
		t = semi;
		if (semi == e)
			semi = NULL;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		tl = (size_t)(t - p);
		q = qvalue(semi, e);
		if (tl == 28 && !strncasecmp(p, "application/openmetrics-text",
					     tl)) {
			if (q > om)
				om = q;
		} else if ((tl == 10 && !strncasecmp(p, "text/plain", tl)) ||
			   (tl == 6 && !strncasecmp(p, "text/*", tl)) ||
			   (tl == 3 && !strncmp(p, "*/*", tl))) {
			if (q > text)
				text = q;
		}
		p = *e ? e + 1 : e;
	}
	return om > 0 && om >= text;
}

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><title>pagescan</title></head><body>\n"
	"<h1>pagescan</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n"
	"</body></html>\n";

static void serve_metrics(struct server *sv, struct conn *c, bool om,
			  bool head)
{
	struct obuf body = { 0 };
	double t0 = mono();
	int ret, first_err;

	sv->st.scrapes++;
	ret = export_metrics(&body, sv->eo, om, &sv->st, true, &first_err);
	sv->st.scan_seconds += mono() - t0;
	if (ret) {
		ob_free(&body);
		respond_text(sv, c, 500, ret == -ENOMEM ? "out of memory\n" :
			     "cannot list /proc\n");
		return;
	}
	respond(sv, c, 200, om ? PROM_OM_TYPE : PROM_TEXT_TYPE,
		body.buf ? body.buf : "", body.len, head);
	ob_free(&body);
}

static bool token_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch);
}

/* A whole request head is in c->in (NUL-terminated at its end). */
static void handle(struct server *sv, struct conn *c, size_t headlen)
{
	char *line = c->in, *eol, *sp1, *sp2, *hdr, *q;
	char accept[1024] = "";
	size_t alen = 0;
	bool head;

	/* The head holds no NUL or control byte but CR, LF and tab. */
	for (q = c->in; q + 1 < c->in + headlen; q++)
		if ((unsigned char)*q < 0x20 && *q != '\r' && *q != '\n' &&
		    *q != '\t') {
			respond_text(sv, c, 400, "bad request\n");
			return;
		}
	eol = strchr(line, '\n');
	if (!eol)
		goto bad;
	*eol = '\0';
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 ||
	    strchr(sp2 + 1, ' '))
		goto bad;
	*sp1 = *sp2 = '\0';
	for (q = line; *q; q++)
		if (!token_char(*q))
			goto bad;
	/* Origin form only: a proxy's absolute form is not for us. */
	if (strncmp(sp2 + 1, "HTTP/", 5) || sp1[1] != '/')
		goto bad;
	if (strcmp(sp2 + 1, "HTTP/1.1") && strcmp(sp2 + 1, "HTTP/1.0")) {
		respond_text(sv, c, 505, "HTTP/1.0 and HTTP/1.1 only\n");
		return;
	}
	/* Header lines: only Accept matters; the others need only parse. */
	for (hdr = eol + 1; *hdr && *hdr != '\r' && *hdr != '\n';) {
		char *e = strchr(hdr, '\n'), *colon;

		if (!e)
			goto bad;
		*e = '\0';
		if (e > hdr && e[-1] == '\r')
			e[-1] = '\0';
		colon = strchr(hdr, ':');
		if (!colon || colon == hdr)
			goto bad;
		for (q = hdr; q < colon; q++)
			if (!token_char(*q))
				goto bad;
		if (colon - hdr == 6 && !strncasecmp(hdr, "accept", 6)) {
			/* Repeated: one list (RFC 9110 5.3). */
			int n = snprintf(accept + alen, sizeof(accept) - alen,
					 "%s%s", alen ? "," : "", colon + 1);

			if (n > 0)
				alen = alen + (size_t)n < sizeof(accept) ?
				       alen + (size_t)n : sizeof(accept) - 1;
		}
		hdr = e + 1;
	}
	head = !strcmp(line, "HEAD");
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = '\0';
	if (strcmp(sp1 + 1, "/metrics") && strcmp(sp1 + 1, "/")) {
		static const char nf[] = "not found: try /metrics\n";

		respond(sv, c, 404, "text/plain; charset=utf-8", nf,
			sizeof(nf) - 1, head);
		return;
	}
	if (strcmp(line, "GET") && !head) {
		respond_text(sv, c, 405, "GET or HEAD only\n");
		return;
	}
	if (!strcmp(sp1 + 1, "/"))
		respond(sv, c, 200, "text/html; charset=utf-8", index_html,
			sizeof(index_html) - 1, head);
	else
		serve_metrics(sv, c, wants_om(accept), head);
	return;
bad:
	respond_text(sv, c, 400, "bad request\n");
}

static void on_read(struct server *sv, struct conn *c)
{
	char *end;
	ssize_t n;

	if (c->state == C_DRAIN) {
		char junk[4096];

		n = recv(c->fd, junk, sizeof(junk), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->deadline = 0;	/* done: closed below */
		return;
	}
	n = recv(c->fd, c->in + c->inlen, MAX_HEAD - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->deadline = 0;
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	/* memmem: a NUL byte must not hide the end of the head. */
	end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (end) {
		end += 4;
	} else if ((end = memmem(c->in, c->inlen, "\n\n", 2))) {
		end += 2;
	} else {
		if (c->inlen == MAX_HEAD)
			respond_text(sv, c, 431, "request head over 8 KiB\n");
		return;
	}
	*(end - 1) = '\0';
	handle(sv, c, (size_t)(end - c->in));
}

static void on_write(struct server *sv, struct conn *c)
{
	while (c->off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->off,
				 c->out.len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->deadline = 0;
			return;
		}
		c->off += (size_t)n;
	}
	/*
	 * All sent: half-close and read what the client still sends, so
	 * that closing with unread input does not reset the connection
	 * before the client has read the answer.
	 */
	ob_free(&c->out);
	shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
	c->deadline = mono() + 1;
}

static void on_accept(struct server *sv)
{
	while (sv->nc < MAX_CONN) {
		int fd = accept4(sv->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->state = C_READ;
		c->deadline = mono() + sv->eo->timeout;
		sv->c[sv->nc++] = c;
	}
}

static int loop(struct server *sv)
{
	struct pollfd pf[MAX_CONN + 2];

	for (;;) {
		double t = mono(), next = t + 60;
		size_t i, n = 0;
		int ms;

		for (i = 0; i < sv->nc;) {
			struct conn *c = sv->c[i];

			if (c->deadline > t) {
				if (c->deadline < next)
					next = c->deadline;
				i++;
				continue;
			}
			/*
			 * Too slow sending its request: say so once.  One
			 * that sent nothing is an idle connection (a
			 * preconnecting client): closed without a word.
			 */
			if (c->state == C_READ && c->deadline && c->inlen) {
				respond_text(sv, c, 408, "request timeout\n");
				on_write(sv, c);
				c->deadline = 0;
			}
			conn_close(sv, i);
		}
		pf[n].fd = sv->sfd;
		pf[n++].events = POLLIN;
		pf[n].fd = sv->nc < MAX_CONN ? sv->lfd : -1;
		pf[n++].events = POLLIN;
		for (i = 0; i < sv->nc; i++) {
			pf[n].fd = sv->c[i]->fd;
			pf[n++].events = sv->c[i]->state == C_WRITE ? POLLOUT :
					 POLLIN;
		}
		ms = (int)((next - t) * 1000) + 1;
		if (poll(pf, n, ms) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[0].revents) {
			struct signalfd_siginfo si;

			if (read(sv->sfd, &si, sizeof(si)) == sizeof(si))
				return 0;
		}
		/* Back to front: conn_close() moves the last one down. */
		for (i = sv->nc; i-- > 0;) {
			struct conn *c = sv->c[i];
			short re = pf[2 + i].revents;

			if (!re)
				continue;
			if (c->state == C_WRITE) {
				on_write(sv, c);
			} else {
				on_read(sv, c);
				/* An answer now: most often it fits at once. */
				if (c->state == C_WRITE && c->deadline)
					on_write(sv, c);
			}
			if (!c->deadline)
				conn_close(sv, i);
		}
		if (pf[1].revents)
			on_accept(sv);
	}
}

int cmd_serve(int argc, char **argv)
{
	struct export_opts eo;
	struct server sv = { .eo = &eo, .lfd = -1, .sfd = -1 };
	char shown[NI_MAXHOST + NI_MAXSERV + 4];
	sigset_t set, old;
	int ret;

	ret = export_options(argc, argv, true, &eo);
	if (ret) {
		export_options_free(&eo);
		return ret < 0 ? EX_OK : ret;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	sv.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv.sfd < 0) {
		err_msg("signalfd: %s", strerror(errno));
		ret = EX_FAIL;
		goto out;
	}
	sv.lfd = listen_on(eo.listen, shown, sizeof(shown));
	if (sv.lfd < 0) {
		struct obuf m = { 0 };

		ob_text(&m, eo.listen);
		if (sv.lfd == -EINVAL)
			err_msg("--listen wants ADDR:PORT with a numeric "
				"address (127.0.0.1:9572, [::1]:9572, "
				"0.0.0.0:9572), not '%s'", m.buf);
		else
			err_msg("cannot listen on %s: %s", m.buf,
				strerror(-sv.lfd));
		ob_free(&m);
		ret = sv.lfd == -EINVAL ? EX_USAGE : EX_FAIL;
		goto out;
	}
	printf("listening on %s\n", shown);
	fflush(stdout);
	ret = loop(&sv);
	if (ret) {
		err_msg("poll: %s", strerror(-ret));
		ret = EX_FAIL;
	}
out:
	while (sv.nc)
		conn_close(&sv, 0);
	if (sv.lfd >= 0)
		close(sv.lfd);
	if (sv.sfd >= 0)
		close(sv.sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	export_options_free(&eo);
	return ret;
}
