namespace ControlPlane.Server.Ops;

/// <summary>
/// Correlation: every request carries an <c>X-Request-ID</c> (the caller's when it sends a sane one,
/// else a new one), echoed on the response and attached to every log line of the request together
/// with the W3C trace id (ASP.NET Core continues the caller's <c>traceparent</c>).
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-ID";

    public Task InvokeAsync(HttpContext context, ILogger<RequestIdMiddleware> logger)
    {
        var incoming = context.Request.Headers[HeaderName].ToString();
        var id = IsSane(incoming) ? incoming : Guid.NewGuid().ToString("N");
        context.Response.Headers[HeaderName] = id;
        System.Diagnostics.Activity.Current?.SetTag("request_id", id);
        using (logger.BeginScope(new RequestIdScope(id)))
        {
            return next(context);
        }
    }

    // A client-supplied id goes into logs and headers: printable ASCII, bounded length.
    private static bool IsSane(string value) =>
        value.Length is > 0 and <= 128 && value.All(c => c is > ' ' and < (char)127);
}

/// <summary>The log scope carrying the request id (<c>request_id</c> in JSON logs).</summary>
internal sealed class RequestIdScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public string RequestId { get; } = requestId;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new("request_id", RequestId) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "request_id:" + RequestId;
}
