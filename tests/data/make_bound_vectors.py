#!/usr/bin/env python3
"""Writes knock-v1-bound.json from docs/PROTOCOL.md section 7 alone.

An implementation independent of the C++ one (Python's keyed BLAKE2b); the
pair keys come from knock-v1.json. Run with --check to compare instead of
write: tests/common/test_bound_sequence.cc checks the C++ side.
"""
import hashlib
import ipaddress
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def stream_ports(key, data, base, rng, exclude, want):
    ports = []
    for counter in range(256):
        block = hashlib.blake2b(data + bytes([counter]), key=key,
                                digest_size=64).digest()
        for i in range(0, 64, 2):
            port = base + ((block[i] << 8) | block[i + 1]) % rng
            if port in exclude or port in ports:
                continue
            ports.append(port)
            if len(ports) == want:
                return ports
    raise ValueError("stream ran out")


def binding(address):
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bytes([ip.version]) + ip.packed


def common_input(label, window, slot, service):
    name = service.encode("ascii")
    return (label + window.to_bytes(8, "big") + bytes([slot, len(name)]) +
            name)


def derive(v):
    key = bytes.fromhex(v["pair_key_hex"])
    n, base, rng = v["n"], v["base"], v["range"]
    head = stream_ports(
        key, common_input(b"knock/v1 bound head", v["window"], v["slot"],
                          v["service"]), base, rng, [], n)
    tail = stream_ports(
        key,
        common_input(b"knock/v1 bound tail", v["window"], v["slot"],
                     v["service"]) + binding(v["bound_to"]), base, rng, head,
        (n + 1) // 2)
    return head, tail


# (base vector index, bound address): both families, a mapped address that
# must bind like its IPv4 address, and the documentation prefixes only.
CASES = [(0, "198.18.0.2"), (0, "198.18.0.3"), (1, "2001:db8::2"),
         (2, "::ffff:198.18.7.9"), (3, "2001:db8:ffff::1")]


def build():
    base = json.loads((HERE / "knock-v1.json").read_text())["vectors"]
    vectors = []
    for index, address in CASES:
        v = {k: base[index][k] for k in (
            "client_private", "client_public", "server_private",
            "server_public", "pair_key_hex", "service", "window", "slot", "n",
            "base", "range")}
        v["bound_to"] = address
        v["head"], v["tail"] = derive(v)
        v["sending_order"] = [v["head"][0]] + v["tail"] + v["head"][1:]
        vectors.append(v)
    return {"protocol": "knock/v1 bound", "vectors": vectors}


def main():
    text = json.dumps(build(), indent=2) + "\n"
    path = HERE / "knock-v1-bound.json"
    if sys.argv[1:] == ["--check"]:
        if path.read_text() != text:
            sys.exit(f"{path} differs from what section 7 gives")
        return
    path.write_text(text)


if __name__ == "__main__":
    main()
