using Microsoft.Extensions.Logging;

namespace ControlPlane.Metrics.Internal;

internal static partial class CollectorLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Instrument '{Instrument}' of meter '{Meter}' is not exported: its Prometheus name '{Name}' is taken by a {Type} with other buckets or another type.")]
    public static partial void NameConflict(ILogger logger, string instrument, string meter, string name, MetricType type);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "An observable instrument's callback failed during a scrape; its series are left out.")]
    public static partial void ObservableFailed(ILogger logger, Exception exception);
}
