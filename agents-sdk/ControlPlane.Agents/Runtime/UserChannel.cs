using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// AGENT_USER_CHANNEL: alerts, incidents and announcements for humans. An http(s) URL is a webhook
/// that gets each message as a JSON POST (<c>{kind, agent, action, trace_id, when, text, ...}</c>,
/// redacted), with an <c>Idempotency-Key</c> so the retry of a lost answer is not a second alert.
/// Anything else (the reference's "#team2-ops") cannot be posted to from here: the message is
/// written to the log as a warning instead, so it is never silently lost.
/// </summary>
internal sealed class UserChannel(string? channel, AgentHttp http, AgentLog log, Redactor redactor, TimeProvider time)
{
    public Uri? Webhook { get; } = Uri.TryCreate(channel, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri : null;

    public string? Name => channel;

    /// <summary>Posts one message; true when the webhook accepted it (2xx). Never throws for a channel failure: it is logged.</summary>
    public async Task<bool> PostAsync(LogContext context, string kind, string text, JsonObject? data, CancellationToken cancellationToken)
    {
        var message = new JsonObject
        {
            ["kind"] = kind,
            ["agent"] = context.Agent,
            ["action"] = context.Action,
            ["trace_id"] = context.TraceId,
            ["when"] = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["text"] = text,
        };
        foreach (var (key, value) in data ?? [])
        {
            message[key] = value?.DeepClone();
        }
        var redacted = (JsonObject)redactor.Redact(message)!;
        if (Webhook is null)
        {
            if (channel is null && kind == "announcement")
            {
                // Nobody configured a channel: an announcement of a success is not a warning (alerts still are).
                log.Info(context, $"{kind}: {text}", ("channel", "(none: AGENT_USER_CHANNEL is not set)"), ("message", redacted));
            }
            else
            {
                log.Warn(context, $"{kind}: {text}", ("channel", channel ?? "(none: AGENT_USER_CHANNEL is not set)"), ("message", redacted));
            }
            return false;
        }
        try
        {
            var answer = await http.SendAsync(new HttpCall(HttpMethod.Post, Webhook)
            {
                Body = Encoding.UTF8.GetBytes(redacted.ToJsonString()),
                Headers = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString("N") },
                SafeToRepeat = true,
            }, context.TraceId, cancellationToken).ConfigureAwait(false);
            if (answer.IsSuccess)
            {
                log.Info(context, $"posted {kind} to the user channel", ("status", answer.StatusCode));
                return true;
            }
            log.Error(context, $"the user channel refused the {kind}", ("status", answer.StatusCode), ("message", redacted));
        }
        catch (AgentFailure ex)
        {
            log.Error(context, $"the user channel is unreachable: {ex.Detail}", ("message", redacted));
        }
        return false;
    }
}
