namespace ControlPlane.Server.Storage;

/// <summary>
/// Marks the answers a replica served from its memory because the store could not be reached (Redis
/// down, hung, or this replica cut off from it), so the caller can tell them from answers read from
/// the store: the response carries <see cref="HeaderName"/>, the milliseconds since the store last
/// answered this replica (as Consul's stale reads carry <c>X-Consul-LastContact</c>). Each request
/// gets its own mark (<see cref="Middleware"/>); the stores call <see cref="Mark"/> when they answer
/// from memory. Only a replica on a shared store adds the middleware: the embedded store is memory.
/// </summary>
public static class MemoryReads
{
    /// <summary>Response header (REST and gRPC response metadata) of an answer served from memory.</summary>
    public const string HeaderName = "X-Platform-Last-Contact";

    private static readonly AsyncLocal<ReadMark?> Current = new();

    /// <summary>Notes that the current request's answer came (at least partly) from memory, <paramref name="sinceLastContact"/> after the store last answered.</summary>
    public static void Mark(TimeSpan sinceLastContact)
    {
        if (Current.Value is { } mark)
        {
            mark.Note(sinceLastContact);
        }
    }

    /// <summary>Gives each request its mark, and writes the header when the response starts if a store used it.</summary>
    public static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var mark = new ReadMark();
        Current.Value = mark;
        context.Response.OnStarting(static state =>
        {
            var (mark, response) = ((ReadMark, HttpResponse))state;
            if (mark.Since is { } since)
            {
                response.Headers[HeaderName] = ((long)since.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return Task.CompletedTask;
        }, (mark, context.Response));
        await next(context);
    }

    private sealed class ReadMark
    {
        private long _ticks = -1;

        /// <summary>The longest time since the store last answered among the reads served from memory; null when none was.</summary>
        public TimeSpan? Since => Interlocked.Read(ref _ticks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;

        public void Note(TimeSpan since)
        {
            var ticks = Math.Max(0, since.Ticks);
            long seen;
            while ((seen = Interlocked.Read(ref _ticks)) < ticks && Interlocked.CompareExchange(ref _ticks, ticks, seen) != seen)
            {
            }
        }
    }
}
