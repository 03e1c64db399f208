namespace ControlPlane.Dataplane.Forwarder;

internal static partial class ForwarderLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Image {Image}: could not connect to instance {InstanceId} at {Upstream}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string image, string instanceId, string upstream, string? reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Image {Image}: the instance kept the request waiting {TimeoutMs} ms without its response headers")]
    public static partial void Timeout(ILogger logger, string image, double timeoutMs);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Image {Image}: the instance failed the request: {Reason}")]
    public static partial void UpstreamFailed(ILogger logger, string image, string? reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Image {Image}: instance at {Upstream} broke off the response body; the client's response was aborted")]
    public static partial void ResponseBodyFailed(ILogger logger, string image, string upstream);

    /// <summary>Why the instance's response body was broken off: it went silent past the activity timeout, or it failed.</summary>
    public static void ResponseBodyBrokenOff(ILogger logger, HttpContext http, string image, string upstream, UpstreamTimeout cancel, TimeSpan activityTimeout)
    {
        if (cancel.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            ResponseBodyStalled(logger, image, upstream, activityTimeout.TotalMilliseconds);
        }
        else
        {
            ResponseBodyFailed(logger, image, upstream);
        }
    }

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Image {Image}: instance at {Upstream} sent nothing of its response body for {TimeoutMs} ms; the client's response was aborted")]
    public static partial void ResponseBodyStalled(ILogger logger, string image, string upstream, double timeoutMs);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Image {Image}: instance at {Upstream} was lost between two messages of a gRPC response; the call was ended with UNAVAILABLE")]
    public static partial void GrpcCallLost(ILogger logger, string image, string upstream);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Image {Image}: instance {InstanceId} at {Upstream} refused the request's stream (HTTP/2 REFUSED_STREAM)")]
    public static partial void Refused(ILogger logger, string image, string instanceId, string upstream);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Image {Image}: the client's request body could not be read: {Reason}")]
    public static partial void RequestBodyFailed(ILogger logger, string image, string? reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Image {Image}: the request cannot be forwarded as sent: {Reason}")]
    public static partial void RequestInvalid(ILogger logger, string image, string? reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Image {Image}: retry budget exhausted, not retrying")]
    public static partial void RetryBudgetExhausted(ILogger logger, string image);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Image {Image}: instance {InstanceId} ejected for {EjectionSeconds} s after {Failures} consecutive failures")]
    public static partial void Ejected(ILogger logger, string image, string instanceId, double ejectionSeconds, int failures);
}
