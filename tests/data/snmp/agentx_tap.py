#!/usr/bin/env python3
"""Relay one AgentX connection between a sub-agent and snmpd, logging each PDU.

usage: agentx_tap.py LISTEN_SOCKET MASTER_SOCKET LOG_FILE

Listens on the unix socket LISTEN_SOCKET, accepts sub-agent connections, relays
each to the master agent's unix socket MASTER_SOCKET and writes one decoded line
per PDU (RFC 2741 encoding) to LOG_FILE. Administrative PDUs (Open, Close,
Register, Unregister, Notify, Ping, AddAgentCaps, RemoveAgentCaps) and their
Responses are also written as hex. Used by capture.sh only.
"""
import os
import select
import socket
import struct
import sys
import time

TYPES = {1: "Open", 2: "Close", 3: "Register", 4: "Unregister", 5: "Get",
         6: "GetNext", 7: "GetBulk", 8: "TestSet", 9: "CommitSet",
         10: "UndoSet", 11: "CleanupSet", 12: "Notify", 13: "Ping",
         14: "IndexAllocate", 15: "IndexDeallocate", 16: "AddAgentCaps",
         17: "RemoveAgentCaps", 18: "Response"}
ADMIN = {1, 2, 3, 4, 12, 13, 16, 17}
VTYPES = {2: "Integer", 4: "OctetString", 5: "Null", 6: "OID",
          64: "IpAddress", 65: "Counter32", 66: "Gauge32", 67: "TimeTicks",
          68: "Opaque", 70: "Counter64", 128: "noSuchObject",
          129: "noSuchInstance", 130: "endOfMibView"}


class Reader:
    def __init__(self, data, big):
        self.d, self.p, self.e = data, 0, ">" if big else "<"

    def u8(self):
        self.p += 1
        return self.d[self.p - 1]

    def u16(self):
        v = struct.unpack_from(self.e + "H", self.d, self.p)[0]
        self.p += 2
        return v

    def u32(self):
        v = struct.unpack_from(self.e + "I", self.d, self.p)[0]
        self.p += 4
        return v

    def oid(self):
        n, prefix, include, _ = self.d[self.p:self.p + 4]
        self.p += 4
        subs = [self.u32() for _ in range(n)]
        if prefix:
            subs = [1, 3, 6, 1, prefix] + subs
        text = "." + ".".join(map(str, subs)) if subs else "null"
        return text + ("(include)" if include else "")

    def octets(self):
        n = self.u32()
        v = self.d[self.p:self.p + n]
        self.p += (n + 3) & ~3
        return v

    def more(self):
        return self.p < len(self.d)


def show_octets(v):
    if v and all(32 <= b < 127 for b in v):
        return '"' + v.decode() + '"'
    return "0x" + v.hex()


def varbind(r):
    t = r.u16()
    r.u16()
    name = r.oid()
    if t in (2, 65, 66, 67):
        val = str(r.u32())
    elif t == 70:
        hi, lo = r.u32(), r.u32()
        val = str(hi << 32 | lo) if r.e == ">" else str(lo << 32 | hi)
    elif t in (4, 68):
        val = show_octets(r.octets())
    elif t == 64:
        val = ".".join(map(str, r.octets()))
    elif t == 6:
        val = r.oid()
    else:
        val = ""
    return f"{name}={VTYPES.get(t, t)}:{val}"


def decode(pdu):
    ver, typ, flags, _ = pdu[:4]
    big = bool(flags & 0x10)
    sess, tx, pkt, plen = struct.unpack_from(">IIII" if big else "<IIII", pdu, 4)
    r = Reader(pdu[20:20 + plen], big)
    head = (f"{TYPES.get(typ, typ)} v{ver} flags=0x{flags:02x} sess={sess} "
            f"tx={tx} pkt={pkt} len={plen}")
    body = []
    # net-snmp also puts a (zero-length) context into a Response that has
    # NON_DEFAULT_CONTEXT set, though RFC 2741 gives the Response no context.
    if flags & 0x08 and typ not in (1, 2):
        body.append("context=" + show_octets(r.octets()))
    if typ == 1:
        timeout = r.u8()
        r.p += 3
        body += [f"timeout={timeout}", "id=" + r.oid(),
                 "descr=" + show_octets(r.octets())]
    elif typ == 2:
        body.append(f"reason={r.u8()}")
    elif typ in (3, 4):
        a, prio, rsub, _ = r.u8(), r.u8(), r.u8(), r.u8()
        if typ == 3:
            body.append(f"timeout={a}")
        body += [f"priority={prio}", f"range_subid={rsub}", "subtree=" + r.oid()]
        if rsub:
            body.append(f"upper_bound={r.u32()}")
    elif typ in (5, 6, 7):
        if typ == 7:
            body += [f"non_repeaters={r.u16()}", f"max_repetitions={r.u16()}"]
        while r.more():
            body.append(f"[{r.oid()} .. {r.oid()}]")
    elif typ in (8, 12):
        while r.more():
            body.append(varbind(r))
    elif typ in (16, 17):
        body.append("id=" + r.oid())
        if typ == 16:
            body.append("descr=" + show_octets(r.octets()))
    elif typ == 18:
        body += [f"sysUpTime={r.u32()}", f"error={r.u16()}", f"index={r.u16()}"]
        while r.more():
            body.append(varbind(r))
    return typ, head + (" " + " ".join(body) if body else "")


def relay(client, master_path, log, start):
    master = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    master.connect(master_path)
    bufs = {client: b"", master: b""}
    peer = {client: master, master: client}
    tag = {client: ">>", master: "<<"}
    admin_pkts = set()
    while True:
        ready, _, _ = select.select([client, master], [], [])
        for s in ready:
            data = s.recv(65536)
            if not data:
                log.write(f"{time.monotonic() - start:9.3f} {tag[s]} connection closed\n")
                log.flush()
                client.close()
                master.close()
                return
            peer[s].sendall(data)
            bufs[s] += data
            while len(bufs[s]) >= 20:
                big = bool(bufs[s][2] & 0x10)
                plen = struct.unpack_from(">I" if big else "<I", bufs[s], 16)[0]
                if len(bufs[s]) < 20 + plen:
                    break
                pdu, bufs[s] = bufs[s][:20 + plen], bufs[s][20 + plen:]
                try:
                    typ, text = decode(pdu)
                except (IndexError, ValueError, struct.error) as err:
                    typ, text = pdu[1], f"undecodable ({err}) hex {pdu.hex()}"
                pkt = struct.unpack_from(">I" if big else "<I", pdu, 12)[0]
                log.write(f"{time.monotonic() - start:9.3f} {tag[s]} {text}\n")
                if typ in ADMIN:
                    admin_pkts.add(pkt)
                if typ in ADMIN or (typ == 18 and pkt in admin_pkts):
                    log.write(f"{'':9} {tag[s]} hex {pdu.hex()}\n")
                log.flush()


def main():
    listen_path, master_path, log_path = sys.argv[1:4]
    if os.path.exists(listen_path):
        os.unlink(listen_path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen_path)
    srv.listen(1)
    start = time.monotonic()
    with open(log_path, "w") as log:
        while True:
            client, _ = srv.accept()
            log.write(f"{time.monotonic() - start:9.3f} -- sub-agent connected\n")
            log.flush()
            relay(client, master_path, log, start)


if __name__ == "__main__":
    main()
