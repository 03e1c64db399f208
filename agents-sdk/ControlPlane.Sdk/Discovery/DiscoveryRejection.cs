namespace ControlPlane.Sdk.Discovery;

/// <summary>A response a <see cref="DiscoveryWatcher"/> rejected (NACKed); the watcher kept the snapshot it had.</summary>
public sealed class DiscoveryRejection : EventArgs
{
    internal DiscoveryRejection(string typeUrl, string version, string nonce, string error)
    {
        TypeUrl = typeUrl;
        Version = version;
        Nonce = nonce;
        Error = error;
    }

    /// <summary>The resource type of the response.</summary>
    public string TypeUrl { get; }

    /// <summary>The response's system_version_info.</summary>
    public string Version { get; }

    /// <summary>The nonce the NACK echoed.</summary>
    public string Nonce { get; }

    /// <summary>Why: the error_detail message sent back, naming each bad resource and field.</summary>
    public string Error { get; }
}
