using System.Globalization;

namespace ControlPlane.TestCommon.Processes;

/// <summary>A backend instance (tests/ControlPlane.TestBackend) in its own process: answers with its instance id.</summary>
public sealed class BackendProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private BackendProcess(string instanceId, int port, ChildProcess process)
    {
        InstanceId = instanceId;
        Port = port;
        Process = process;
    }

    public string InstanceId { get; }

    public int Port { get; }

    public ChildProcess Process { get; }

    public static Task<BackendProcess> StartAsync(string instanceId) => ChildProcessStart.WithFreshPortsAsync(async () =>
    {
        var port = FreePorts.Next();
        var process = await ChildProcess.StartAsync(
            "backend-" + instanceId,
            Binaries.Backend,
            new Dictionary<string, string>
            {
                ["Backend__InstanceId"] = instanceId,
                ["Backend__Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["Logging__LogLevel__Default"] = "Warning",
            },
            new Uri($"http://127.0.0.1:{port}/readyz"));
        return new BackendProcess(instanceId, port, process);
    });

    /// <summary>Every later request waits <paramref name="delay"/> before it is answered (set on the instance directly).</summary>
    public async Task SetDelayAsync(TimeSpan delay)
    {
        using var response = await Http.PutAsync($"http://127.0.0.1:{Port}/_backend/delay?ms={(int)delay.TotalMilliseconds}", null).DefaultTimeout();
        response.EnsureSuccessStatusCode();
    }

    public Task KillAsync() => Process.KillAsync();

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
