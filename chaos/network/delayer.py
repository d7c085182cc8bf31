#!/usr/bin/env python3
"""Holds each packet iptables hands to NFQUEUE <queue> for the delay its mark carries, then lets it go.

This kernel has no netem, so added latency is made here: the network-fault controller marks a packet
(bits 0-15 delay ms, bits 16-22 jitter ms) and queues it; this reader gives the verdict ACCEPT once
delay +/- jitter has passed. It speaks nfnetlink_queue over a raw netlink socket (Python's standard
library can, Node cannot), so nothing beyond python3 is needed.

Usage: delayer.py QUEUE LABEL   (LABEL is the owner's etcdasg_<pid>_<start>_t<tag>, for the sweeper)
Prints "ready" once bound. Exits when stdin closes (its owner stopped or died), accepting every packet
it still holds first; the iptables rule is --queue-bypass, so with no reader packets pass undelayed.
"""
import errno
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_MARK = 1, 2, 3
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NF_ACCEPT = 1
NETLINK_NO_ENOBUFS = 5
SOL_NETLINK = 270


def attr(kind, payload):
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * (-size % 4)


def message(kind, queue, attrs, flags=NLM_F_REQUEST):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def attributes(data):
    found = {}
    while len(data) >= 4:
        size, kind = struct.unpack_from("=HH", data)
        if size < 4:
            break
        found[kind & 0x7FFF] = data[4:size]
        data = data[(size + 3) & ~3 :]
    return found


def configure(sock, queue, attrs):
    sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
    reply = sock.recv(65536)
    if struct.unpack_from("=H", reply, 4)[0] == NLMSG_ERROR:
        code = struct.unpack_from("=i", reply, 16)[0]
        if code != 0:
            raise OSError(-code, os.strerror(-code))


def bind(queue):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    configure(sock, queue, [attr(NFQA_CFG_CMD, struct.pack("=BxH", NFQNL_CFG_CMD_BIND, 0))])
    configure(
        sock,
        queue,
        [
            # Metadata only: the verdict needs the packet's id and mark, not its bytes.
            attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)),
            attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 20000)),
            # A full queue lets packets through rather than dropping them: a delay must never become loss.
            attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)),
            attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)),
        ],
    )
    return sock


def main():
    queue, _label = int(sys.argv[1]), sys.argv[2]
    try:
        sock = bind(queue)
    except OSError as error:
        print(f"cannot bind NFQUEUE {queue}: {error}", file=sys.stderr, flush=True)
        return 2
    print("ready", flush=True)
    held = []  # (due, packet id)

    def accept(packet_id):
        sock.send(message(NFQNL_MSG_VERDICT, queue, [attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))]))

    while True:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
        readable, _, _ = select.select([sock, sys.stdin], [], [], timeout)
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            for _, packet_id in held:
                accept(packet_id)
            return 0
        if sock in readable:
            try:
                data = sock.recv(1 << 20)
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    continue
                raise
            while len(data) >= 16:
                size, kind = struct.unpack_from("=IH", data)
                if kind & 0xFF == NFQNL_MSG_PACKET and kind >> 8 == NFNL_SUBSYS_QUEUE:
                    found = attributes(data[20:size])
                    packet_id = struct.unpack("!I", found[NFQA_PACKET_HDR][:4])[0]
                    mark = struct.unpack("!I", found[NFQA_MARK])[0] if NFQA_MARK in found else 0
                    delay, jitter = mark & 0xFFFF, (mark >> 16) & 0x7F
                    due = time.monotonic() + max(0.0, delay + random.uniform(-jitter, jitter)) / 1000
                    heapq.heappush(held, (due, packet_id))
                data = data[(size + 3) & ~3 :]
        now = time.monotonic()
        while held and held[0][0] <= now:
            accept(heapq.heappop(held)[1])


if __name__ == "__main__":
    sys.exit(main())
