using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Mcp.Tests.Infrastructure;

/// <summary>
/// A scripted MCP client: writes JSON-RPC lines into the server's input and reads every line of its
/// output, over in-memory pipes. Each output line is kept raw (to check framing and echoed ids) and
/// parsed; tests wait for the message they expect, with a deadline, while other messages wait their turn.
/// </summary>
internal sealed class McpTestClient : IAsyncDisposable
{
    private readonly Pipe _input = new();
    private readonly Pipe _output = new();
    private readonly object _lock = new();
    private readonly List<JsonElement> _unread = [];
    private readonly List<string> _lines = [];
    private readonly List<string> _violations = [];
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;
    private long _nextId;
    private readonly Task _reading;

    public McpTestClient(McpServer server, CancellationToken serverToken = default)
    {
        Server = server;
        ServerTask = Task.Run(() => server.RunAsync(_input.Reader.AsStream(), _output.Writer.AsStream(), serverToken));
        _reading = ReadOutputAsync();
    }

    public McpServer Server { get; }

    /// <summary>The server's <c>RunAsync</c>.</summary>
    public Task ServerTask { get; }

    /// <summary>Every line the server wrote so far, raw.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Writes <paramref name="text"/> into the server's input as it is (add the newline yourself).</summary>
    public Task SendRawAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendBytesAsync(byte[] bytes)
    {
        await _input.Writer.WriteAsync(bytes).AsTask().DefaultTimeout();
    }

    /// <summary>Sends a message as one line.</summary>
    public Task SendAsync(JsonNode message) => SendRawAsync(message.ToJsonString() + "\n");

    public Task NotifyAsync(string method, JsonObject? parameters = null)
    {
        var message = new JsonObject { ["jsonrpc"] = "2.0", ["method"] = method };
        if (parameters is not null)
        {
            message["params"] = parameters;
        }
        return SendAsync(message);
    }

    /// <summary>Sends a request with a fresh numeric id and returns its response (result or error).</summary>
    public async Task<JsonElement> RequestAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        await SendRequestAsync(id, method, parameters);
        return await ResponseAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public Task SendRequestAsync(JsonNode id, string method, JsonObject? parameters = null)
    {
        var message = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method };
        if (parameters is not null)
        {
            message["params"] = parameters;
        }
        return SendAsync(message);
    }

    /// <summary>A request's result, failing the test when it was answered with an error.</summary>
    public async Task<JsonElement> ResultAsync(string method, JsonObject? parameters = null)
    {
        var response = await RequestAsync(method, parameters);
        Assert.True(response.TryGetProperty("result", out var result), $"{method} was answered with {response}");
        return result;
    }

    /// <summary>initialize (at <paramref name="version"/>), then notifications/initialized; returns the initialize result.</summary>
    public async Task<JsonElement> InitializeAsync(string version = McpProtocolVersions.Latest, JsonObject? capabilities = null)
    {
        var result = await ResultAsync("initialize", new JsonObject
        {
            ["protocolVersion"] = version,
            ["capabilities"] = capabilities ?? [],
            ["clientInfo"] = new JsonObject { ["name"] = "mcp-test-client", ["version"] = "1.0" },
        });
        await NotifyAsync("notifications/initialized");
        return result;
    }

    /// <summary>tools/call; returns the whole response.</summary>
    public Task<JsonElement> CallToolAsync(string tool, JsonObject? arguments = null) =>
        RequestAsync("tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments ?? [] });

    /// <summary>The response whose id's JSON text is <paramref name="idRaw"/>.</summary>
    public Task<JsonElement> ResponseAsync(string idRaw) =>
        NextAsync(m => m.TryGetProperty("id", out var id) && id.GetRawText() == idRaw && !m.TryGetProperty("method", out _), $"the response to id {idRaw}");

    /// <summary>The next notification or request of <paramref name="method"/> from the server.</summary>
    public Task<JsonElement> ServerMessageAsync(string method) =>
        NextAsync(m => m.TryGetProperty("method", out var name) && name.GetString() == method, $"a '{method}' message");

    /// <summary>The next message the server wrote that was not taken yet.</summary>
    public Task<JsonElement> NextAsync() => NextAsync(_ => true, "a message");

    public async Task<JsonElement> NextAsync(Func<JsonElement, bool> match, string what)
    {
        using var deadline = new CancellationTokenSource(TaskTimeoutExtensions.Timeout);
        while (true)
        {
            Task arrived;
            lock (_lock)
            {
                var index = _unread.FindIndex(m => match(m));
                if (index >= 0)
                {
                    var message = _unread[index];
                    _unread.RemoveAt(index);
                    return message;
                }
                if (_violations.Count > 0)
                {
                    throw new InvalidOperationException("The server wrote a line that is not a JSON-RPC message: " + _violations[0]);
                }
                if (_ended)
                {
                    throw new InvalidOperationException($"The server's output ended without {what}; unread: {string.Join(" | ", _unread)}");
                }
                arrived = _arrived.Task;
            }
            try
            {
                await arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}; unread: {string.Join(" | ", Unread())}");
            }
        }
    }

    /// <summary>Messages written and not taken yet.</summary>
    public IReadOnlyList<JsonElement> Unread()
    {
        lock (_lock)
        {
            return [.. _unread];
        }
    }

    /// <summary>
    /// Closes the server's input (MCP stdio shutdown), waits for <c>RunAsync</c> to return, and returns
    /// every message not taken yet: nothing more can come after.
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> CloseAsync()
    {
        await _input.Writer.CompleteAsync();
        await ServerTask.DefaultTimeout();
        await _output.Writer.CompleteAsync();
        await _reading.DefaultTimeout();
        lock (_lock)
        {
            Assert.Empty(_violations);
        }
        return Unread();
    }

    public async ValueTask DisposeAsync()
    {
        await _input.Writer.CompleteAsync();
        try
        {
            await ServerTask.WaitAsync(TaskTimeoutExtensions.Timeout);
        }
        catch (OperationCanceledException)
        {
            // The test cancelled the server.
        }
        await _output.Writer.CompleteAsync();
        await _reading.WaitAsync(TaskTimeoutExtensions.Timeout);
    }

    private async Task ReadOutputAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } newline)
                {
                    var line = Encoding.UTF8.GetString(buffer.Slice(0, newline));
                    buffer = buffer.Slice(buffer.GetPosition(1, newline));
                    Arrive(line);
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        Arrive(Encoding.UTF8.GetString(buffer));
                    }
                    break;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await reader.CompleteAsync();
            TaskCompletionSource arrived;
            lock (_lock)
            {
                _ended = true;
                arrived = _arrived;
            }
            arrived.TrySetResult();
        }
    }

    /// <summary>Every output line must be a JSON-RPC message, or a batch of them (MCP stdio: nothing else on stdout).</summary>
    private void Arrive(string line)
    {
        JsonElement? message = null;
        try
        {
            var parsed = JsonElement.Parse(line);
            var messages = parsed.ValueKind == JsonValueKind.Array ? [.. parsed.EnumerateArray()] : new[] { parsed };
            if (messages.All(m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty("jsonrpc", out var v) && v.ValueEquals("2.0")))
            {
                message = parsed;
            }
        }
        catch (JsonException)
        {
        }
        TaskCompletionSource arrived;
        lock (_lock)
        {
            _lines.Add(line);
            if (message is { } valid)
            {
                _unread.Add(valid);
            }
            else
            {
                _violations.Add(line);
            }
            arrived = _arrived;
            _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        arrived.TrySetResult();
    }
}
