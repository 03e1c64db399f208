"""An independent MCP client (Python stdlib only): starts the server as a subprocess and speaks
MCP's stdio transport to it (newline-delimited JSON-RPC 2.0 on stdin/stdout, logs on stderr).

Usage: mcp_stdio_client.py <server command...>   (the server runs for agent lb-stats-agent)
Prints OK and exits 0 when every check passed; a failed check raises (exit 1, with the reason).
"""
import json
import queue
import subprocess
import sys
import threading

TIMEOUT = 30


def pump(stream, sink):
    for line in iter(stream.readline, b""):
        sink.put(line)
    sink.put(None)


class Client:
    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = queue.Queue()
        self.err = queue.Queue()
        threading.Thread(target=pump, args=(self.proc.stdout, self.out), daemon=True).start()
        threading.Thread(target=pump, args=(self.proc.stderr, self.err), daemon=True).start()
        self.next_id = 0
        self.stdout_lines = []

    def send_line(self, raw):
        self.proc.stdin.write(raw.encode("utf-8") + b"\n")
        self.proc.stdin.flush()

    def send(self, message):
        # json.dumps never writes a raw newline: one message per line.
        self.send_line(json.dumps(message, ensure_ascii=False))

    def receive(self):
        line = self.out.get(timeout=TIMEOUT)
        assert line is not None, "the server closed stdout"
        assert line.endswith(b"\n"), "a message must end with a newline"
        self.stdout_lines.append(line)
        message = json.loads(line.decode("utf-8"))
        assert message.get("jsonrpc") == "2.0", f"not a JSON-RPC 2.0 message: {line!r}"
        return message

    def request(self, method, params=None, id=None):
        if id is None:
            self.next_id += 1
            id = self.next_id
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        while True:
            response = self.receive()
            if response.get("id") == id and "method" not in response:
                return response

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)


def main():
    client = Client(sys.argv[1:])

    init = client.request("initialize", {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "python-stdlib-client", "version": "1.0"},
    })["result"]
    assert init["protocolVersion"] == "2025-06-18", init
    assert init["serverInfo"]["name"] == "controlplane-mcp-testhost", init
    assert "tools" in init["capabilities"] and "prompts" in init["capabilities"], init
    client.notify("notifications/initialized")

    assert client.request("ping", id="py-ping")["result"] == {}

    tools = {t["name"]: t for t in client.request("tools/list")["result"]["tools"]}
    assert sorted(tools) == ["lb-stats.echo", "lb-stats.reset"], sorted(tools)
    assert tools["lb-stats.reset"]["annotations"]["destructiveHint"] is True
    assert tools["lb-stats.reset"]["inputSchema"]["properties"]["approve"]["type"] == "boolean"

    echoed = client.request("tools/call", {"name": "lb-stats.echo", "arguments": {"text": "héllo\nwörld ∈"}})["result"]
    assert echoed["isError"] is False, echoed
    assert echoed["structuredContent"] == {"echo": "héllo\nwörld ∈"}, echoed
    assert json.loads(echoed["content"][0]["text"]) == {"echo": "héllo\nwörld ∈"}, echoed

    refused = client.request("tools/call", {"name": "lb-stats.reset"})["result"]
    assert refused["isError"] is True, refused
    assert refused["content"][0]["text"] == "Tool 'lb-stats.reset' is destructive: call again with approve=true after a human approved it.", refused
    approved = client.request("tools/call", {"name": "lb-stats.reset", "arguments": {"approve": True}})["result"]
    assert approved["content"][0]["text"] == "statistics reset", approved

    denied = client.request("tools/call", {"name": "sd.delete-instance", "arguments": {"instance_id": "i-secret-9", "approve": True}})
    assert denied["error"]["code"] == -32602, denied
    assert denied["error"]["message"] == "Tool 'sd.delete-instance' is not allowed for agent 'lb-stats-agent'", denied

    invalid = client.request("tools/call", {"name": "lb-stats.echo", "arguments": {}})
    assert invalid["error"]["code"] == -32602 and "missing required argument 'text'" in invalid["error"]["message"], invalid

    client.send_line('{"jsonrpc": "2.0", "id": 1, "method": ')
    parse_error = client.receive()
    assert parse_error["id"] is None and parse_error["error"]["code"] == -32700, parse_error

    prompt = client.request("prompts/get", {"name": "health-agent", "arguments": {"task": "check cp-1"}})["result"]
    assert [m["content"]["text"] for m in prompt["messages"]][1] == "check cp-1", prompt

    # Shutdown: close stdin, the server exits by itself.
    client.proc.stdin.close()
    assert client.proc.wait(timeout=TIMEOUT) == 0, "the server did not exit cleanly"
    assert client.out.get(timeout=TIMEOUT) is None, "the server wrote after its last answer"

    log = []
    while (line := client.err.get(timeout=TIMEOUT)) is not None:
        log.append(json.loads(line.decode("utf-8")))  # every stderr line is a JSON log line
    denials = [e for e in log if e.get("event_id") == 11002]
    assert [(e["agent"], e["tool"], e["reason"]) for e in denials] == [
        ("lb-stats-agent", "lb-stats.reset", "approval_required"),
        ("lb-stats-agent", "sd.delete-instance", "not_allowed"),
    ], denials
    assert all("ts" in e for e in denials), denials
    assert not any("i-secret-9" in json.dumps(e) for e in log), "an argument value was logged"
    print("OK")


if __name__ == "__main__":
    main()
