using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Configuration;

internal static partial class ConfigLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Proxy config revision {Revision} applied: {ImageCount} images")]
    public static partial void Applied(ILogger logger, long revision, int imageCount);
}
