# A DNS client and its resolver in a network namespace the test creates (run by
# tests/common/mod.rs `netns_dns` under `unshare --net`, with lo up): the resolver
# answers any query on 127.0.0.1:53 and [::1]:53 (UDP and TCP) with a CNAME and an A
# record (192.0.2.53); the client then queries it over UDP, TCP and UDP/IPv6.
# argv[1] = "now": connect and query at once; "early": connect the UDP and TCP
# sockets, print "ready", wait for a line on stdin, then query over them. Either
# way it prints "done" and waits for its stdin to close before exiting.
import socket, struct, sys, threading


def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"


def answer(q):
    r = bytearray(q)
    r[2], r[3], r[7] = 0x81, 0x80, 2
    r += bytes([0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 2, 0xC0, 12])
    r += bytes([0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 53])
    return bytes(r)


def recvn(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve(fam, addr):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((addr, 53))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 53))
    t.listen(8)

    def udp():
        while True:
            d, a = u.recvfrom(512)
            u.sendto(answer(d), a)

    def one(c):
        n = struct.unpack(">H", recvn(c, 2))[0]
        a = answer(recvn(c, n))
        c.sendall(struct.pack(">H", len(a)) + a)

    def tcp():
        while True:
            c, _ = t.accept()
            threading.Thread(target=one, args=(c,), daemon=True).start()

    threading.Thread(target=udp, daemon=True).start()
    threading.Thread(target=tcp, daemon=True).start()


serve(socket.AF_INET, "127.0.0.1")
serve(socket.AF_INET6, "::1")
prefix = sys.argv[2]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", 53))
t = socket.create_connection(("127.0.0.1", 53))
if sys.argv[1] == "early":
    print("ready", flush=True)
    sys.stdin.readline()
u.send(query("udp." + prefix, 0x5151))
u.recv(512)
q = query("tcp." + prefix, 0x5252)
t.sendall(struct.pack(">H", len(q)) + q)
recvn(t, struct.unpack(">H", recvn(t, 2))[0])
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.sendto(query("udp6." + prefix, 0x5353), ("::1", 53))
u6.recvfrom(512)
print("done", flush=True)
sys.stdin.readline()  # stay alive (holding the sockets) until the test has looked
