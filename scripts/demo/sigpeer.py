#!/usr/bin/python3
"""A minimal third-party signaling peer for the demo (Debian python3-websockets).

Joins a room over wss (verifying the server certificate against a CA file),
prints what the server says, and with --offer sends a placeholder offer to
every peer it is introduced to (NEW_PEER), as signaling.md §4 asks of the
existing member. Exits after --seconds.
"""
import argparse
import asyncio
import json
import ssl
import sys

import websockets


def say(name, text):
    print(f"  [{name}] {text}", flush=True)


async def run(args):
    ctx = ssl.create_default_context(cafile=args.ca) if args.url.startswith("wss:") else None
    async with websockets.connect(args.url, subprotocols=["peerpipe.v1"], ssl=ctx) as ws:
        token = open(args.token_file).read().strip()
        await ws.send(json.dumps({"type": "JOIN_ROOM", "room": args.room, "token": token,
                                  "fingerprint": args.fingerprint}))
        loop = asyncio.get_running_loop()
        end = loop.time() + args.seconds
        while (left := end - loop.time()) > 0:
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), left))
            except asyncio.TimeoutError:
                break
            except websockets.exceptions.ConnectionClosed as e:
                say(args.name, f"connection closed by the server: code {e.code}")
                break
            t = msg.get("type")
            if t == "JOINED":
                names = [p["name"] for p in msg["peers"]] or ["nobody yet"]
                say(args.name, f"JOINED room {msg['room']} as {msg['peer_id'][:8]}…; sees: {', '.join(names)}")
            elif t == "NEW_PEER":
                p = msg["peer"]
                say(args.name, f"NEW_PEER {p['name']} ({p['role']}) — I was here first, so I send the offer")
                if args.offer:
                    sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                    await ws.send(json.dumps({"type": "SEND_SDP", "to": p["peer_id"],
                                              "sdp": {"type": "offer", "sdp": sdp}}))
            elif t == "FORWARD_SDP":
                kind = msg["sdp"]["type"]
                say(args.name, f"FORWARD_SDP {kind} from {msg['from'][:8]}… ({len(msg['sdp']['sdp'])} bytes)")
                if kind == "offer":
                    await ws.send(json.dumps({"type": "SEND_SDP", "to": msg["from"],
                                              "sdp": {"type": "answer", "sdp": msg["sdp"]["sdp"]}}))
                    await ws.send(json.dumps({"type": "SEND_ICE", "to": msg["from"], "candidate": None}))
            elif t == "FORWARD_ICE":
                say(args.name, f"FORWARD_ICE from {msg['from'][:8]}…: {msg['candidate']}")
            elif t == "PEER_LEFT":
                say(args.name, f"PEER_LEFT {msg['peer_id'][:8]}…")
            elif t == "ERROR":
                say(args.name, f"ERROR {msg['code']}: {msg['message']}")
            else:
                say(args.name, f"{t}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--room", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--fingerprint", default="sha-256 " + ":".join(["00"] * 32))
    ap.add_argument("--offer", action="store_true")
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()
    try:
        asyncio.run(run(args))
    except websockets.exceptions.InvalidStatusCode as e:
        say(args.name, f"refused by the server: HTTP {e.status_code}")
        sys.exit(1)


if __name__ == "__main__":
    main()
