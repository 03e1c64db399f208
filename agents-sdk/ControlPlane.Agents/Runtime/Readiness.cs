using System.Text.Json.Nodes;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// <c>GET {base}/readyz</c> of the control plane or a dataplane: ready only on 200 with body "ok"
/// (what both answer when ready; not ready is 503 "not_ready: why"). One attempt: a probe's failure
/// is the finding, and the poller asks again on its own schedule.
/// </summary>
internal static class Readiness
{
    private const int MaxBody = 512;

    public static HttpCall Call(Uri baseUrl) => new(HttpMethod.Get, Urls.Combine(baseUrl, "readyz")) { NoRetry = true };

    public static async Task<ProbeResult> ProbeAsync(ActionScope scope, string target, Uri baseUrl, CancellationToken cancellationToken)
    {
        var call = Call(baseUrl);
        var at = scope.Time.GetUtcNow();
        try
        {
            var answer = await scope.HttpAsync(call, cancellationToken).ConfigureAwait(false);
            var body = answer.Text.Trim();
            if (body.Length > MaxBody)
            {
                body = body[..MaxBody] + "...";
            }
            return new ProbeResult(target, call.Url, at, answer.StatusCode == 200 && body == "ok", answer.StatusCode, body, null, answer.Elapsed);
        }
        catch (AgentFailure ex) when (ex.Code == AgentErrorCodes.BackendUnreachable)
        {
            return new ProbeResult(target, call.Url, at, false, null, null, ex.Detail, scope.Time.GetUtcNow() - at);
        }
    }

    /// <summary>The control plane (AGENT_LB_BASE) and every dataplane (AGENT_DATAPLANES), named for reports.</summary>
    public static IReadOnlyList<(string Target, Uri Base)> Targets(AgentOptions options) =>
        [("control-plane", options.LbBase), .. options.Dataplanes.Select((d, i) => ($"dataplane-{i + 1}", d))];
}

/// <summary>One readiness probe's outcome.</summary>
internal sealed record ProbeResult(string Target, Uri Url, DateTimeOffset At, bool Ready, int? StatusCode, string? Body, string? Error, TimeSpan Elapsed)
{
    public string Summary => Ready ? "ok" : StatusCode is { } code ? $"{code} {Body}" : Error ?? "no answer";

    public JsonObject ToJson() => new()
    {
        ["target"] = Target,
        ["url"] = Url.ToString(),
        ["at"] = At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        ["ready"] = Ready,
        ["status_code"] = StatusCode,
        ["body"] = Body,
        ["error"] = Error,
        ["elapsed_ms"] = Math.Round(Elapsed.TotalMilliseconds, 1),
    };
}
