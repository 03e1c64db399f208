using System.Reflection;

namespace ControlPlane.Sdk.ServiceContract;

/// <summary>Settings of the agent service contract endpoints.</summary>
public sealed class AgentServiceContractOptions
{
    /// <summary>The service's name in <c>/version</c> (e.g. "sd-agent"). Default: the entry assembly's name.</summary>
    public string? Name { get; set; }

    /// <summary>The assembly whose informational version ("1.2.3+gitsha") <c>/health</c> and <c>/version</c> report. Default: the entry assembly.</summary>
    public Assembly? VersionAssembly { get; set; }

    /// <summary>How long each readiness check may take before it counts as not ready. Default 2 s.</summary>
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
