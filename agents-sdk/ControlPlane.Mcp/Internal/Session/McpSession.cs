using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using ControlPlane.Mcp.Internal.Protocol;
using ControlPlane.Mcp.Internal.Tools;
using ControlPlane.Mcp.Internal.Transport;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary>
/// One MCP connection over a pair of streams: reads messages in order, answers requests, runs tool
/// calls concurrently, and ends when the input ends (MCP stdio shutdown: the client closes the
/// server's input), after the calls still running were answered or, past the shutdown timeout, cancelled.
/// </summary>
/// <remarks>
/// Lifecycle state is written only by the reader, one message at a time, so a message always sees
/// every earlier one applied; tool calls, which run on the thread pool, only read it.
/// </remarks>
internal sealed partial class McpSession : IToolCallChannel
{
    /// <summary>Duplicate member names would make a message mean two things: refused as invalid JSON.</summary>
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    private readonly ServerDefinition _server;
    private readonly Stream _input;
    private readonly MessageWriter _writer;
    private readonly OutgoingRequests _outgoing;
    private readonly ApprovalGate _approvals;
    private readonly InFlightCalls _calls = new();
    private readonly ConcurrentDictionary<Task, bool> _background = new();
    private CancellationToken _abort;

    private volatile string? _protocolVersion;
    private volatile McpClientInfo _client = new("unknown", "unknown");
    private volatile bool _clientElicitsForms;
    private volatile bool _clientReady;
    private volatile int _logLevel = (int)McpLogLevel.Info;

    public McpSession(ServerDefinition server, Stream input, Stream output)
    {
        _server = server;
        _input = input;
        _writer = new MessageWriter(output, server.Logger);
        _outgoing = new OutgoingRequests(_writer, server.Time);
        _approvals = new ApprovalGate(server, _outgoing);
    }

    public string ProtocolVersion => _protocolVersion ?? McpProtocolVersions.Latest;

    public McpClientInfo Client => _client;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _abort = abort.Token;
        _writer.Start(abort.Token);
        var reason = "the client closed its input";
        using (_writer.Failed.Register(abort.Cancel))
        {
            try
            {
                await new LineReader(_input, _server.Options.MaxMessageBytes).RunAsync(OnLineAsync, OnTooLongAsync, abort.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                reason = cancellationToken.IsCancellationRequested ? "the host stopped the server" : "the client stopped reading the output";
            }
            catch (IOException ex)
            {
                reason = "reading the input failed: " + ex.Message;
            }

            // Nothing more can be read: no answer to a question the server asked will come.
            _outgoing.Close();
            await DrainAsync(abort).ConfigureAwait(false);
            if (!await CompletesAsync(_writer.CompleteAsync()).ConfigureAwait(false))
            {
                await abort.CancelAsync().ConfigureAwait(false);
                reason += "; the client did not read the last messages";
            }
        }
        McpLog.SessionEnded(_server.Logger, _server.Agent, reason);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Lets running calls finish and be answered; past the shutdown timeout (or at once when the host stops), cancels them.</summary>
    private async Task DrainAsync(CancellationTokenSource abort)
    {
        var work = _background.Keys.ToArray();
        if (work.Length == 0)
        {
            return;
        }
        if (!abort.IsCancellationRequested && await CompletesAsync(Task.WhenAll(work)).ConfigureAwait(false))
        {
            return;
        }
        _calls.CancelAll();
        if (!await CompletesAsync(Task.WhenAll(work)).ConfigureAwait(false))
        {
            McpLog.CallsAbandoned(_server.Logger, work.Count(t => !t.IsCompleted));
        }
    }

    private async Task<bool> CompletesAsync(Task task)
    {
        try
        {
            await task.WaitAsync(_server.Options.ShutdownTimeout, _server.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (Exception)
        {
            // Failed is finished too; background work logs its own failures.
        }
        return true;
    }

    private ValueTask OnTooLongAsync()
    {
        McpLog.MessageRejected(_server.Logger, $"a message longer than {_server.Options.MaxMessageBytes} bytes");
        return _writer.SendAsync(
            JsonRpcFrames.Error(null, JsonRpcErrorCodes.InvalidRequest, $"Invalid Request: message longer than {_server.Options.MaxMessageBytes} bytes"),
            _abort);
    }

    private async ValueTask OnLineAsync(ReadOnlySequence<byte> line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, DocumentOptions);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: the duplicate-name check reads every name, and a name
            // with a lone surrogate escape cannot be read.
            McpLog.MessageRejected(_server.Logger, "not valid JSON");
            await _writer.SendAsync(JsonRpcFrames.Error(null, JsonRpcErrorCodes.ParseError, "Parse error: the message is not valid JSON"), _abort).ConfigureAwait(false);
            return;
        }
        using (document)
        {
            var root = document.RootElement;
            if (!JsonStrings.AllReadable(root))
            {
                McpLog.MessageRejected(_server.Logger, "invalid UTF-8 or a lone surrogate in a string");
                await _writer.SendAsync(JsonRpcFrames.Error(null, JsonRpcErrorCodes.ParseError, "Parse error: the message is not valid JSON"), _abort).ConfigureAwait(false);
                return;
            }
            try
            {
                switch (root.ValueKind)
                {
                    case JsonValueKind.Object:
                        await DeliverAsync(HandleMessage(root, inBatch: false)).ConfigureAwait(false);
                        break;
                    case JsonValueKind.Array:
                        await HandleBatchAsync(root).ConfigureAwait(false);
                        break;
                    default:
                        McpLog.MessageRejected(_server.Logger, "not a JSON object");
                        await _writer.SendAsync(JsonRpcFrames.Error(null, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: a message must be a JSON object"), _abort).ConfigureAwait(false);
                        break;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A bug must cost one message, never the session.
                McpLog.MessageFailed(_server.Logger, ex);
                await _writer.SendAsync(JsonRpcFrames.Error(null, JsonRpcErrorCodes.InternalError, "Internal error"), _abort).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask DeliverAsync(Reply reply)
    {
        if (reply.Now is { } now)
        {
            await _writer.SendAsync(now, _abort).ConfigureAwait(false);
        }
        else if (reply.Later is { } later)
        {
            Track(SendWhenDoneAsync(later));
        }
    }

    private async Task SendWhenDoneAsync(Task<byte[]?> later)
    {
        if (await later.ConfigureAwait(false) is { } message)
        {
            await _writer.SendAsync(message, _abort).ConfigureAwait(false);
        }
    }

    /// <summary>Background work the shutdown waits for: a call's answer, a batch's answers.</summary>
    private void Track(Task work)
    {
        _background.TryAdd(work, true);
        _ = work.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, bool>)state!).TryRemove(t, out _), _background, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// JSON-RPC batches exist only in MCP 2025-03-26 (added there, removed in 2025-06-18), and
    /// <c>initialize</c> must never be batched: a batch is refused as a whole otherwise.
    /// </summary>
    private async ValueTask HandleBatchAsync(JsonElement batch)
    {
        var version = _protocolVersion;
        if (version != McpProtocolVersions.V2025_03_26)
        {
            var message = version is null
                ? "Invalid Request: JSON-RPC batches are not accepted before initialization, and 'initialize' must not be batched"
                : $"Invalid Request: JSON-RPC batches are not supported in protocol version {version} (only in 2025-03-26)";
            McpLog.MessageRejected(_server.Logger, "a batch the protocol version does not allow");
            await _writer.SendAsync(JsonRpcFrames.Error(null, JsonRpcErrorCodes.InvalidRequest, message), _abort).ConfigureAwait(false);
            return;
        }
        if (batch.GetArrayLength() == 0)
        {
            await _writer.SendAsync(JsonRpcFrames.Error(null, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: an empty batch"), _abort).ConfigureAwait(false);
            return;
        }
        var replies = new List<Reply>();
        foreach (var element in batch.EnumerateArray())
        {
            replies.Add(element.ValueKind == JsonValueKind.Object
                ? HandleMessage(element, inBatch: true)
                : Reply.Of(JsonRpcFrames.Error(null, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: a batch element must be a JSON object")));
        }
        if (replies.All(r => r.Later is null))
        {
            var now = replies.Where(r => r.Now is not null).Select(r => r.Now!).ToList();
            if (now.Count > 0)
            {
                await _writer.SendAsync(JsonRpcFrames.Batch(now), _abort).ConfigureAwait(false);
            }
            return;
        }
        Track(SendBatchWhenDoneAsync(replies));
    }

    /// <summary>A batch is answered with one array once every request in it is done; notifications and cancelled calls have no entry, and an empty array is not sent.</summary>
    private async Task SendBatchWhenDoneAsync(List<Reply> replies)
    {
        var messages = new List<byte[]>();
        foreach (var reply in replies)
        {
            var message = reply.Now ?? (reply.Later is { } later ? await later.ConfigureAwait(false) : null);
            if (message is not null)
            {
                messages.Add(message);
            }
        }
        if (messages.Count > 0)
        {
            await _writer.SendAsync(JsonRpcFrames.Batch(messages), _abort).ConfigureAwait(false);
        }
    }

    private Reply HandleMessage(JsonElement element, bool inBatch)
    {
        var message = IncomingMessage.Classify(element);
        switch (message.Kind)
        {
            case IncomingKind.Invalid:
                McpLog.MessageRejected(_server.Logger, message.ErrorMessage!);
                return Reply.Of(JsonRpcFrames.Error(message.Id, message.ErrorCode, message.ErrorMessage!));
            case IncomingKind.Response:
                // An answer to the server's own request; one nobody waits for (late, after a cancel) is dropped.
                if (message.Id is { } responseId)
                {
                    _outgoing.TryComplete(responseId, message.Result, message.Error);
                }
                return Reply.None;
            case IncomingKind.Notification:
                HandleNotification(message.Method!, message.Params);
                return Reply.None;
            default:
                var id = message.Id!.Value;
                try
                {
                    return HandleRequest(id, message.Method!, message.Params, inBatch);
                }
                catch (McpProtocolException ex)
                {
                    return Reply.Of(JsonRpcFrames.Error(id, ex.Code, ex.Message, ex.ErrorData));
                }
        }
    }

    private Reply HandleRequest(RequestId id, string method, JsonElement parameters, bool inBatch)
    {
        switch (method)
        {
            case "initialize":
                return Reply.Of(Initialize(id, parameters, inBatch));
            case "ping":
                // Allowed before initialization too (MCP lifecycle).
                return Reply.Of(JsonRpcFrames.Result(id, static _ => { }));
        }
        var version = _protocolVersion
            ?? throw new McpProtocolException(JsonRpcErrorCodes.InvalidRequest, "Invalid Request: the server is not initialized; send 'initialize' first");
        return method switch
        {
            "tools/list" => Reply.Of(ListTools(id, parameters, version)),
            "tools/call" => CallTool(id, parameters, version),
            "prompts/list" => Reply.Of(ListPrompts(id, parameters, version)),
            "prompts/get" => Reply.Of(GetPrompt(id, parameters)),
            "logging/setLevel" => Reply.Of(SetLogLevel(id, parameters)),
            _ => throw new McpProtocolException(JsonRpcErrorCodes.MethodNotFound, $"Method not found: {Text.Shorten(method)}"),
        };
    }

    private void HandleNotification(string method, JsonElement parameters)
    {
        switch (method)
        {
            case "notifications/cancelled":
                if (parameters.ValueKind == JsonValueKind.Object
                    && parameters.TryGetProperty("requestId", out var requestId)
                    && RequestId.TryRead(requestId, out var id)
                    && _calls.CancelByClient(id.Key))
                {
                    var reason = parameters.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                    McpLog.CallCancelled(_server.Logger, Text.Shorten(id.Raw), Text.Shorten(reason ?? "no reason given"));
                }
                break;
            case "notifications/initialized":
                // Requests are served once 'initialize' is answered; this only allows the server's
                // own requests (elicitation), which MCP holds back until the client is ready.
                _clientReady = _protocolVersion is not null;
                break;
            default:
                // Unknown notifications are ignored: a notification is never answered, not even with an error.
                break;
        }
    }
}
