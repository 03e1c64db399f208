namespace ControlPlane.Server.Policies;

internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Policy of {Image} set to {Algorithm} (version {Version}, replacing {PreviousVersion}) by {Actor}")]
    public static partial void Set(ILogger logger, string image, string algorithm, string version, string previousVersion, string actor);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Policy of {Image} set by {Actor} is unchanged (version {Version}): nothing stored")]
    public static partial void Unchanged(ILogger logger, string image, string version, string actor);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Policy of {Image} (version {Version}) deleted by {Actor}; the image is routed with round_robin")]
    public static partial void Deleted(ILogger logger, string image, string version, string actor);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Debug, Message = "Policy of {Image} not set by {Actor}: the change required another version than the stored {Version}")]
    public static partial void VersionMismatch(ILogger logger, string image, string version, string actor);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Policy of {Image} weights {Count} instance ids the registry does not know for this image")]
    public static partial void UnknownInstances(ILogger logger, string image, int count);
}
