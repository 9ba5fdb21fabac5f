#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A DNS server that never answers: reads every UDP query and drops it, so
a resolver pointed here waits out its whole timeout (a DNS server that is
up but stuck, the case that unreachable addresses do not give: those fail
within seconds on an ARP or ICMP error).

Log lines: 'query PEER bytes=N' for each datagram."""
import socketserver

import svclib


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, _ = self.request
        svclib.log("query %s:%d bytes=%d", self.client_address[0], self.client_address[1],
                   len(data))


class UDPServer(socketserver.UDPServer):
    allow_reuse_address = True


def main():
    args = svclib.parse_args(__doc__)
    svclib.open_log(args.log)
    svclib.serve(UDPServer((args.host, args.port), Handler), args.ready)


if __name__ == "__main__":
    main()
