using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Sdk;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// The HTTP requests agents make themselves (/readyz, the billing export and its shipping, the
/// user-channel webhook, the edge proxy): a deadline per attempt (AGENT_REQUEST_TIMEOUT_S), the
/// trace id as <c>X-Request-ID</c>, and retries (AGENT_RETRY, exponential backoff with full jitter,
/// the SDK's <see cref="ExponentialBackoff"/>) only for requests that may be repeated: GET, HEAD,
/// PUT and DELETE, or a POST its caller marks safe. A retry follows a failed connection, a timeout,
/// or 502/503/504, the answers of a hop that did not reach the server's handler.
/// </summary>
internal sealed class AgentHttp(HttpMessageInvoker client, TimeSpan timeout, int retries, TimeProvider time, Random random)
{
    public const string RequestIdHeader = "X-Request-ID";

    public TimeSpan Timeout => timeout;

    public async Task<HttpAnswer> SendAsync(HttpCall call, string traceId, CancellationToken cancellationToken)
    {
        var attempts = call.Retryable ? retries + 1 : 1;
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), random);
        for (var attempt = 1; ; attempt++)
        {
            using var request = Build(call, traceId);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(call.Timeout ?? timeout);
            var started = Stopwatch.GetTimestamp();
            string failure;
            try
            {
                using var response = await client.SendAsync(request, deadline.Token).ConfigureAwait(false);
                var body = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
                var answer = new HttpAnswer((int)response.StatusCode, body, response.Headers, response.Content.Headers, Stopwatch.GetElapsedTime(started), attempt);
                if (!call.Retryable || attempt >= attempts || response.StatusCode is not (HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout) || !call.RetryOnUnavailable)
                {
                    return answer;
                }
                failure = $"{(int)response.StatusCode}";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failure = $"no answer within {(call.Timeout ?? timeout).TotalSeconds:0.###} s";
            }
            catch (HttpRequestException ex)
            {
                failure = ex.InnerException?.Message ?? ex.Message;
            }
            if (attempt >= attempts)
            {
                throw new AgentFailure(AgentErrorCodes.BackendUnreachable,
                    $"{call.Method} {call.Url.GetLeftPart(UriPartial.Path)}: {failure} ({attempt} attempt{(attempt == 1 ? "" : "s")})");
            }
            await Task.Delay(backoff.Next(), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static HttpRequestMessage Build(HttpCall call, string traceId)
    {
        var request = new HttpRequestMessage(call.Method, call.Url) { Version = HttpVersion.Version11 };
        request.Headers.TryAddWithoutValidation(RequestIdHeader, traceId);
        foreach (var (name, value) in call.Headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (call.Body is not null)
        {
            request.Content = new ByteArrayContent(call.Body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(call.ContentType ?? "application/json");
        }
        return request;
    }
}

/// <summary>One HTTP request an agent makes.</summary>
internal sealed record HttpCall(HttpMethod Method, Uri Url)
{
    public byte[]? Body { get; init; }

    public string? ContentType { get; init; }

    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>A POST its caller knows is safe to repeat (no side effects, or deduplicated by an idempotency key).</summary>
    public bool SafeToRepeat { get; init; }

    /// <summary>Whether 502/503/504 answers are retried (false for probes: a 503 from /readyz is the answer).</summary>
    public bool RetryOnUnavailable { get; init; } = true;

    /// <summary>This request's own deadline, instead of AGENT_REQUEST_TIMEOUT_S.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>No retries at all (a probe or a load generator counts each attempt itself).</summary>
    public bool NoRetry { get; init; }

    public bool Retryable => !NoRetry && (SafeToRepeat || Method == HttpMethod.Get || Method == HttpMethod.Head || Method == HttpMethod.Put || Method == HttpMethod.Delete);
}

/// <summary>What came back: status, body, headers, time taken, attempts made.</summary>
internal sealed record HttpAnswer(int StatusCode, byte[] Body, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, TimeSpan Elapsed, int Attempts)
{
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    public string Text => System.Text.Encoding.UTF8.GetString(Body);

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var values) || ContentHeaders.TryGetValues(name, out values) ? values.FirstOrDefault() : null;
}
