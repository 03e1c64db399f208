using System.Globalization;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Interop.Tests.Infrastructure;
using ControlPlane.Server;
using ControlPlane.Server.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Interop.Tests.Generated;

/// <summary>
/// The orchestrators' Python SDK, exactly as <c>buf generate</c> makes it from buf.gen.yaml, against
/// the real control plane: it registers an instance, heartbeats it (unary, then over the stream) and
/// finds it in the topology (tests/interop/python/generated_sdk_client.py).
/// </summary>
public sealed class GeneratedPythonClientTests : IAsyncLifetime
{
    private static readonly TimeSpan ClientTimeout = TaskTimeoutExtensions.Timeout - TimeSpan.FromSeconds(5);
    private readonly TestLogSink _logs = new();
    private WebApplication _app = null!;
    private int _grpcPort;

    public async ValueTask InitializeAsync()
    {
        _app = ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None"],
            builder => builder.Logging.AddProvider(_logs));
        await _app.StartAsync().DefaultTimeout();
        _grpcPort = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task GeneratedPythonClient_Registers_Heartbeats_AndReadsTheTopology()
    {
        var root = await GeneratedSdk.GenerateAsync().WaitAsync(TimeSpan.FromMinutes(4));

        var result = await ExternalProcess.RunAsync(
            Prerequisites.Python,
            ["generated_sdk_client.py", "--port", _grpcPort.ToString(CultureInfo.InvariantCulture), "--gen-dir", GeneratedSdk.Python(root), "--instance-port", "18181"],
            ClientTimeout,
            Prerequisites.PythonHarnessDirectory).DefaultTimeout();

        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(result.ExitCode == 0 && lines.Length == 1, $"{result}{Environment.NewLine}--- server log ---{Environment.NewLine}{string.Join(Environment.NewLine, _logs.Records)}");
        var summary = JsonDocument.Parse(lines[0]).RootElement;
        Assert.True(summary.GetProperty("ok").GetBoolean());
        Assert.Equal("healthy", summary.GetProperty("unary_status").GetString());
        Assert.Equal(["HEARTBEAT_OUTCOME_RENEWED", "HEARTBEAT_OUTCOME_RENEWED", "HEARTBEAT_OUTCOME_RENEWED"], summary.GetProperty("stream_outcomes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(("round_robin", "healthy"), (summary.GetProperty("topology_algorithm").GetString(), summary.GetProperty("topology_status").GetString()));

        // The server's side: the instance as the generated client registered it, renewed after that.
        var registry = _app.Services.GetRequiredService<ServiceRegistry>();
        var instance = (await registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = summary.GetProperty("instance_id").GetString() }).DefaultTimeout()).Instance;
        Assert.Equal((summary.GetProperty("name").GetString(), "img.generated.svc", 18181, "eu-central", 2.0), (instance.Name, instance.Image, instance.Port, instance.Region, instance.Metadata.Fields["weight"].NumberValue));
        Assert.True(instance.LastHeartbeatAt > instance.RegisteredAt, "the heartbeats did not renew the lease");
        Assert.Empty(_logs.Errors);
    }
}
