using System.Collections.Concurrent;
using System.Text.Json;
using ControlPlane.Mcp.Internal.Protocol;
using ControlPlane.Mcp.Internal.Transport;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary>
/// Requests the server sends to the client (elicitation) and their answers, matched by id. A request
/// given up (timeout, the call cancelled) is cancelled towards the client with
/// <c>notifications/cancelled</c>, and a late answer to it is ignored, as MCP's cancellation rules ask.
/// </summary>
internal sealed class OutgoingRequests(MessageWriter writer, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _pending = new(StringComparer.Ordinal);
    private long _sequence;
    private volatile bool _closed;

    /// <summary>Sends a request and waits for its result (a cloned element).</summary>
    /// <exception cref="ClientRequestFailedException">The client answered with an error, or can no longer answer.</exception>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    public async Task<JsonElement> SendAsync(string method, Action<Utf8JsonWriter> writeParams, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = RequestId.ForServer(Interlocked.Increment(ref _sequence));
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The timeout runs from before the request leaves, so whoever sees the request sees its clock running.
        using var timedOut = new CancellationTokenSource(timeout, time);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timedOut.Token);
        _pending[id.Key] = answer;
        try
        {
            if (_closed)
            {
                throw new ClientRequestFailedException("the client closed its input");
            }
            try
            {
                await writer.SendAsync(JsonRpcFrames.Request(id, method, writeParams), giveUp.Token).ConfigureAwait(false);
                return await answer.Task.WaitAsync(giveUp.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (giveUp.IsCancellationRequested)
            {
                var reason = timedOut.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? "timed out" : "the call was cancelled";
                await writer.SendAsync(JsonRpcFrames.Notification("notifications/cancelled", json =>
                {
                    json.WritePropertyName("requestId");
                    json.WriteRawValue(id.Raw, skipInputValidation: true);
                    json.WriteString("reason", reason);
                }), CancellationToken.None).ConfigureAwait(false);
                if (reason == "timed out")
                {
                    throw new TimeoutException($"No answer to {method} within {timeout}.");
                }
                throw;
            }
        }
        finally
        {
            _pending.TryRemove(id.Key, out _);
        }
    }

    /// <summary>Completes the request a response answers; false when none waits for it.</summary>
    public bool TryComplete(RequestId id, JsonElement result, JsonElement error)
    {
        if (!_pending.TryRemove(id.Key, out var answer))
        {
            return false;
        }
        if (error.ValueKind == JsonValueKind.Undefined)
        {
            answer.TrySetResult(result.Clone());
        }
        else
        {
            var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()
                : null;
            answer.TrySetException(new ClientRequestFailedException("the client answered with an error: " + (message ?? "(no message)")));
        }
        return true;
    }

    /// <summary>The input ended: nothing more can be answered.</summary>
    public void Close()
    {
        _closed = true;
        foreach (var answer in _pending.Values)
        {
            answer.TrySetException(new ClientRequestFailedException("the client closed its input"));
        }
    }
}

internal sealed class ClientRequestFailedException(string message) : Exception(message);
