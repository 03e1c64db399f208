using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Sdk;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// One run of one action: its identity for logs and the envelope, and the only way it reaches the
/// platform: every call takes a permit of the agent's rate limiter, carries the trace id, and is
/// logged (method, target, outcome, time; never a token). Dry-run plans are built here from the
/// same request objects a real run sends.
/// </summary>
internal sealed class ActionScope(AgentAction action, AgentRunContext context, string traceId, DateTimeOffset when, JsonNode? request)
{
    private int _sent;

    public AgentRuntime Runtime => context.Runtime;

    public AgentRunContext Context => context;

    public AgentOptions Options => context.Runtime.Options;

    public string Agent => action.Agent;

    public string Action => action.Name;

    public string TraceId => traceId;

    public DateTimeOffset When => when;

    public JsonNode? Request => request;

    /// <summary>What the action acts on (an image, an instance, a URL), for the logs.</summary>
    public string? Target { get; set; }

    public bool DryRun => context.DryRun;

    public TimeProvider Time => context.Runtime.Time;

    public LogContext LogContext => new(Agent, Action, Target, TraceId);

    public ControlPlaneClient Client => Runtime.ClientFor(Agent);

    /// <summary>Waits for a permit of the agent's rate limiter.</summary>
    public async Task AcquireAsync(CancellationToken cancellationToken)
    {
        using var lease = await Runtime.LimiterFor(Agent).AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            throw new AgentFailure(AgentErrorCodes.BackendUnreachable, $"{Agent}'s rate limit queue is full ({Options.RateLimitQps} requests per second)");
        }
    }

    /// <summary>A control-plane call through the SDK (which adds deadlines, retries of idempotent methods and the token where the method needs it).</summary>
    public async Task<T> CallAsync<T>(MethodDescriptor method, string? target, Func<ControlPlaneClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        await AcquireAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _sent);
        var started = Stopwatch.GetTimestamp();
        var client = Client;
        try
        {
            var result = await call(client, cancellationToken).ConfigureAwait(false);
            Runtime.Log.Info(LogContext with { Target = target ?? Target }, "call", ("method", Rpcs.Name(method)), ("address", client.Invoker.CurrentAddress.ToString()), ("outcome", "ok"), ("elapsed_ms", Stopwatch.GetElapsedTime(started)));
            return result;
        }
        catch (ControlPlaneException ex)
        {
            Runtime.Log.Info(LogContext with { Target = target ?? Target }, "call", ("method", Rpcs.Name(method)), ("address", ex.Address.ToString()), ("outcome", ex.ErrorCode), ("detail", ex.Detail), ("attempts", ex.Attempts), ("elapsed_ms", Stopwatch.GetElapsedTime(started)));
            throw;
        }
    }

    /// <summary>An HTTP request (see <see cref="AgentHttp"/> for deadlines and retries).</summary>
    public async Task<HttpAnswer> HttpAsync(HttpCall call, CancellationToken cancellationToken, bool rateLimited = true)
    {
        if (rateLimited)
        {
            await AcquireAsync(cancellationToken).ConfigureAwait(false);
        }
        var target = call.Url.GetLeftPart(UriPartial.Path);
        Interlocked.Increment(ref _sent);
        try
        {
            var answer = await Runtime.Http.SendAsync(call, TraceId, cancellationToken).ConfigureAwait(false);
            Runtime.Log.Info(LogContext with { Target = Target ?? target }, "http", ("method", call.Method.Method), ("url", target), ("status", answer.StatusCode), ("attempts", answer.Attempts), ("elapsed_ms", answer.Elapsed));
            return answer;
        }
        catch (AgentFailure ex)
        {
            Runtime.Log.Info(LogContext with { Target = Target ?? target }, "http", ("method", call.Method.Method), ("url", target), ("outcome", ex.Code), ("detail", ex.Detail));
            throw;
        }
    }

    public PlannedRequest Plan(MethodDescriptor method, IMessage body, string? note = null) =>
        PlannedRequest.Grpc(method, body, Options.SdBase[0], TraceId, Runtime.HasToken, note);

    public PlannedRequest Plan(HttpCall call, JsonNode? body = null, string? note = null) => PlannedRequest.Http(call, TraceId, body, note);

    /// <summary>Refuses (changing nothing) when <paramref name="needed"/> and the caller did not approve.</summary>
    public void RequireApproval(bool needed, string what, JsonNode? result = null)
    {
        if (needed && !context.Approve)
        {
            throw new AgentFailure(AgentErrorCodes.ApprovalRequired, $"{what} needs a human's approval: nothing was changed; run again with --approve (MCP: \"approve\": true) once approved.", result);
        }
    }

    public Task<bool> PostToChannelAsync(string kind, string text, JsonObject? data, CancellationToken cancellationToken) =>
        Runtime.Channel.PostAsync(LogContext, kind, text, data, cancellationToken);

    public void Info(string message, params (string Key, object? Value)[] fields) => Runtime.Log.Info(LogContext, message, fields);

    public void Warn(string message, params (string Key, object? Value)[] fields) => Runtime.Log.Warn(LogContext, message, fields);

    public AgentEnvelope Ok(JsonNode? result, string? text = null) => Envelope(result, null, text);

    public AgentEnvelope Fail(string code, string detail, JsonNode? result = null, string? text = null) => Envelope(result, new AgentError(code, detail), text);

    /// <summary>The envelope of a dry run: the planned requests, in order; nothing was sent.</summary>
    public AgentEnvelope Planned(IReadOnlyList<PlannedRequest> plan, JsonObject? extra = null)
    {
        var result = new JsonObject
        {
            ["dry_run"] = true,
            ["requests"] = new JsonArray([.. plan.Select(p => (JsonNode)p.ToJson())]),
        };
        foreach (var (key, value) in extra ?? [])
        {
            result[key] = value?.DeepClone();
        }
        var text = new StringBuilder($"dry run: {plan.Count} request{(plan.Count == 1 ? "" : "s")} would be sent, none was:{Environment.NewLine}");
        foreach (var request in plan)
        {
            text.Append(request);
        }
        return Ok(result, text.ToString());
    }

    public AgentEnvelope Envelope(JsonNode? result, AgentError? error, string? text)
    {
        var redactor = Runtime.Redactor;
        return new AgentEnvelope
        {
            Agent = Agent,
            Action = Action,
            TraceId = TraceId,
            When = When,
            Request = redactor.Redact(Request),
            Result = redactor.Redact(result),
            Error = error is null ? null : new AgentError(error.Code, redactor.Redact(error.Detail)),
            Text = text is null ? null : redactor.Redact(text),
            SentRequests = Volatile.Read(ref _sent) > 0,
        };
    }
}
