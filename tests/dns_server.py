"""A small authoritative DNS server on loopback for the doctor tests (UDP and TCP).

Zones are given as zone-file text; each name answers as an authoritative server
would: the records of the type asked, a CNAME, an empty answer, NXDOMAIN, or
REFUSED for names outside every zone. Answers too big for UDP are truncated so
the resolver retries over TCP, as with a real server.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Mapping

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

_HEADER = (
    "@ 300 IN SOA ns.test. hostmaster.test. 1 7200 3600 1209600 300\n"
    "@ 300 IN NS ns.test.\n"
)


class ZoneServer:
    """Serve ``zones`` (origin -> zone text) on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, zones: Mapping[str, str]) -> None:
        self.zones = {
            dns.name.from_text(origin): dns.zone.from_text(
                _HEADER + text, origin=origin, relativize=False
            )
            for origin, text in zones.items()
        }
        self.host = "127.0.0.1"
        self._udp, self._tcp = self._bind()
        self.port = self._udp.server_address[1]
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            for server in (self._udp, self._tcp)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for server in (self._udp, self._tcp):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()

    def answer(self, wire: bytes, *, limit: int | None) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        zone = self._zone_of(question.name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.flags |= dns.flags.AA
        node = zone.get_node(question.name)
        if node is None:
            if not any(name.is_subdomain(question.name) for name in zone.nodes):
                response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            for rdtype in (question.rdtype, dns.rdatatype.CNAME):
                rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype)
                if rdataset is not None:
                    rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, rdtype)
                    rrset.update(rdataset)
                    response.answer.append(rrset)
                    break
        if limit is None:
            return response.to_wire()
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _zone_of(self, name: dns.name.Name) -> dns.zone.Zone | None:
        matches = [origin for origin in self.zones if name.is_subdomain(origin)]
        if not matches:
            return None
        return self.zones[max(matches, key=len)]

    def _bind(self) -> tuple[socketserver.UDPServer, socketserver.TCPServer]:
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                query = dns.message.from_wire(data)
                limit = query.payload if query.edns >= 0 else 512
                sock.sendto(server.answer(data, limit=limit), self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                header = self.rfile.read(2)
                if len(header) < 2:
                    return
                (length,) = struct.unpack("!H", header)
                reply = server.answer(self.rfile.read(length), limit=None)
                self.wfile.write(struct.pack("!H", len(reply)) + reply)

        for _ in range(20):
            udp = socketserver.ThreadingUDPServer((self.host, 0), Udp)
            try:
                tcp = socketserver.ThreadingTCPServer(
                    (self.host, udp.server_address[1]), Tcp
                )
            except OSError:
                udp.server_close()
                continue
            udp.daemon_threads = tcp.daemon_threads = True
            return udp, tcp
        raise RuntimeError("no free port for both UDP and TCP on 127.0.0.1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
