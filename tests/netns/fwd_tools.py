#!/usr/bin/env python3
"""fwd_tools.py - helpers of the forwarder tests (tests/netns/xfwd.sh): a scripted backend,
clients that hold a connection open, and a pcap reader that finds the ACKs a client got.

  fwd_tools.py backend ADDR PORT        echo server; a first line "RESET" gets a reset
  fwd_tools.py echo ADDR PORT BYTES     send BYTES random bytes, half-close, read the echo;
                                        prints "ok" when it came back identical
  fwd_tools.py reset ADDR PORT          expects the connection to be reset; prints "reset"
  fwd_tools.py refused ADDR PORT        expects ECONNREFUSED within 2 s; prints "refused"
  fwd_tools.py hold ADDR PORT GATE N    connect, print "connected LPORT", wait for file GATE,
                                        send N request bytes, wait 2 s, reset the connection
  fwd_tools.py acks PCAP LPORT N        from a client-side capture: "isn=I syn_ack_from_peer=1
                                        max_ack_rel=R covers=0|1" for the connection from
                                        local port LPORT; covers=1 when the peer acknowledged
                                        all N request bytes
"""
import os
import socket
import struct
import sys
import threading
import time


def backend(addr, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)
    print("listening", flush=True)

    def serve(c):
        try:
            first = b""
            while not first.endswith(b"\n"):
                b = c.recv(1)
                if not b:
                    return
                first += b
            if first.startswith(b"RESET"):
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                return
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
            c.shutdown(socket.SHUT_WR)
            c.close()
        except OSError:
            pass

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def echo(addr, port, n):
    data = os.urandom(n)
    s = socket.create_connection((addr, port), timeout=20)
    s.sendall(b"ECHO\n")
    got = bytearray()

    def reader():
        while True:
            b = s.recv(65536)
            if not b:
                break
            got.extend(b)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join(30)
    print("ok" if bytes(got) == data else "mismatch %d/%d" % (len(got), n))


def reset(addr, port):
    s = socket.create_connection((addr, port), timeout=5)
    s.sendall(b"RESET\n")
    try:
        b = s.recv(10)
        print("no reset: recv %r" % b)
    except ConnectionResetError:
        print("reset")
    except OSError as e:
        print("error %s" % e)


def refused(addr, port):
    t0 = time.time()
    try:
        socket.create_connection((addr, port), timeout=2)
        print("connected")
    except ConnectionRefusedError:
        print("refused in %.2f s" % (time.time() - t0))
    except OSError as e:
        print("error %s" % e)


def hold(addr, port, gate, n):
    s = socket.create_connection((addr, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("connected %d" % s.getsockname()[1], flush=True)
    for _ in range(200):
        if os.path.exists(gate):
            break
        time.sleep(0.05)
    req = (b"GET /f1024 HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * n)[:n - 4] + b"\r\n\r\n"
    s.sendall(req)
    time.sleep(2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("sent %d" % len(req), flush=True)


def acks(pcap, lport, n):
    with open(pcap, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off, isn, peer_syn, max_ack = 24, None, 0, None
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if linktype == 1:
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:  # Linux cooked
            ip = pkt[16:]
        else:
            ip = pkt
        if len(ip) < 20 or ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        if len(tcp) < 20:
            continue
        sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
        flags = tcp[13]
        if sport == lport and flags & 0x02 and not flags & 0x10:
            isn = seq
        elif dport == lport and flags & 0x10 and isn is not None:
            if flags & 0x02:
                peer_syn = 1
            rel = (ack - isn - 1) % (1 << 32)
            if rel < (1 << 31) and (max_ack is None or rel > max_ack):
                max_ack = rel
    if isn is None:
        print("no SYN from port %d" % lport)
        return
    print("isn=%d syn_ack_from_peer=%d max_ack_rel=%s covers=%d" %
          (isn, peer_syn, max_ack, int(max_ack is not None and max_ack >= n)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "backend":
        backend(args[0], int(args[1]))
    elif cmd == "echo":
        echo(args[0], int(args[1]), int(args[2]))
    elif cmd == "reset":
        reset(args[0], int(args[1]))
    elif cmd == "refused":
        refused(args[0], int(args[1]))
    elif cmd == "hold":
        hold(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "acks":
        acks(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
