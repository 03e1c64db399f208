namespace ControlPlane.TestBackend;

/// <summary>The "Backend" configuration section.</summary>
internal sealed class BackendOptions
{
    public const string Section = "Backend";

    /// <summary>The id this instance answers with (in <c>X-Instance-Id</c> and the JSON body).</summary>
    public string InstanceId { get; set; } = "backend";

    /// <summary>Loopback port to listen on.</summary>
    public int Port { get; set; }
}
