/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_protocol - what paygatectl and the gateway's ctl_server say to each
 * other on the control socket: one request per connection; the client
 * sends one line (at most CTL_LINE_MAX bytes with its newline), words
 * separated by spaces, "--json" anywhere; the server answers "ok\n" and
 * the body, or "error: <why>\n", and closes.
 */
#ifndef PAYGATE_CTL_PROTOCOL_H
#define PAYGATE_CTL_PROTOCOL_H

#define CTL_LINE_MAX 512

#endif /* PAYGATE_CTL_PROTOCOL_H */
