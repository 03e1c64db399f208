using ControlPlane.Agents;

namespace ControlPlane.Agents.Tests.Infrastructure;

/// <summary>A runtime whose agent runtime has nothing real behind it (unit tests of input, dry runs with no server).</summary>
public static class Runtimes
{
    public static AgentRuntime Offline(LogCapture log, TimeProvider? time = null) => new(new AgentOptions
    {
        SdBase = [new Uri("http://127.0.0.1:1")],
        LbBase = new Uri("http://127.0.0.1:1"),
        Dataplanes = [new Uri("http://127.0.0.1:1")],
        PlatformTokenVariable = "CONTROLPLANE_AGENTS_TESTS_NO_TOKEN",
        PlatformTokenFileVariable = "CONTROLPLANE_AGENTS_TESTS_NO_TOKEN_FILE",
        RequestTimeout = TimeSpan.FromSeconds(2),
    }, time, log);
}
