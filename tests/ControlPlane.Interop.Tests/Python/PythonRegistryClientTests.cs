using System.Diagnostics.Metrics;
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

namespace ControlPlane.Interop.Tests.Python;

/// <summary>
/// The python grpcio client (tests/interop/python/registry_client.py, gRPC C-core) drives the
/// control plane's registry, heartbeat stream included, against the real host on free ports. Each
/// test gets a fresh host, and checks the server's side of the story through its DI registry and
/// its "ControlPlane.Registry" meter.
/// </summary>
public sealed class PythonRegistryClientTests : IAsyncLifetime
{
    // Killed (with its output reported) before the await's own guard gives up on it.
    private static readonly TimeSpan ClientTimeout = TaskTimeoutExtensions.Timeout - TimeSpan.FromSeconds(5);

    private readonly TestLogSink _logs = new();
    private readonly MeterListener _listener = new();
    private WebApplication _app = null!;
    private int _grpcPort;
    private long _streamsOpened;
    private long _streamsClosed;
    private long _streamRenewals;
    private long _streamNotFound;

    public async ValueTask InitializeAsync()
    {
        _app = ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None"],
            builder => builder.Logging.AddProvider(_logs));
        ListenToRegistryMeter(_app.Services.GetRequiredService<IMeterFactory>());
        await _app.StartAsync().DefaultTimeout();
        // Listeners are created gRPC first, then REST/ops.
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        _grpcPort = new Uri(addresses.First()).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task HeartbeatStream_RenewsTwoHundredInstancesPerBeat_AndAnswersEachIdOnItsOwn()
    {
        var summary = await RunScenarioAsync("heartbeat-stream");

        Assert.Equal(200, summary.GetProperty("registered").GetInt32());
        Assert.Equal(6, summary.GetProperty("beats").GetInt32());
        Assert.Equal(["RENEWED", "NOT_FOUND", "INVALID_ARGUMENT"], Strings(summary.GetProperty("mixed")));
        Assert.Equal("OK", summary.GetProperty("stream_status").GetString());

        // The server's side: every instance healthy and renewed by the stream after it registered.
        var name = summary.GetProperty("name").GetString()!;
        var registry = _app.Services.GetRequiredService<ServiceRegistry>();
        var instances = (await registry.GetServiceInstancesAsync(new GetServiceInstancesRequest { Name = name }).DefaultTimeout()).Instances;
        Assert.Equal(200, instances.Count);
        Assert.Equal(200, instances.Select(i => i.Port).Distinct().Count());
        Assert.All(instances, i =>
        {
            Assert.Equal("healthy", i.Status);
            Assert.Equal(30, i.TtlSeconds);
            Assert.Equal(summary.GetProperty("image").GetString(), i.Image);
            Assert.True(i.LastHeartbeatAt > i.RegisteredAt, $"{i.InstanceId}: last heartbeat {i.LastHeartbeatAt} is not after its registration {i.RegisteredAt}");
        });

        // One stream was opened, and it is closed: python saw status OK only after the handler ended.
        Assert.Equal((1, 1), (Interlocked.Read(ref _streamsOpened), Interlocked.Read(ref _streamsClosed)));
        Assert.Equal(summary.GetProperty("renewed").GetInt64(), Interlocked.Read(ref _streamRenewals));
        Assert.Equal(1, Interlocked.Read(ref _streamNotFound));
        AssertNoErrorsLogged();
    }

    [Fact]
    public async Task HeartbeatStream_NotFound_ThenRegister_ThenRenewed()
    {
        var summary = await RunScenarioAsync("reregister-after-not-found");

        Assert.Equal(["NOT_FOUND", "RENEWED"], Strings(summary.GetProperty("outcomes")));
        Assert.Equal("OK", summary.GetProperty("stream_status").GetString());

        var registry = _app.Services.GetRequiredService<ServiceRegistry>();
        var instance = (await registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = summary.GetProperty("instance_id").GetString() }).DefaultTimeout()).Instance;
        Assert.Equal("healthy", instance.Status);
        Assert.Equal(summary.GetProperty("name").GetString(), instance.Name);
        Assert.Equal((1, 1), (Interlocked.Read(ref _streamsOpened), Interlocked.Read(ref _streamsClosed)));
        Assert.Equal((1, 1), (Interlocked.Read(ref _streamRenewals), Interlocked.Read(ref _streamNotFound)));
        AssertNoErrorsLogged();
    }

    [Fact]
    public async Task Errors_CarryRichStatusDetails_AndAnOversizedBeatEndsTheStream()
    {
        var summary = await RunScenarioAsync("errors");

        var invalidPort = summary.GetProperty("invalid_port");
        Assert.Equal("INVALID_ARGUMENT", invalidPort.GetProperty("code").GetString());
        Assert.Equal("invalid_request", invalidPort.GetProperty("reason").GetString());
        Assert.Equal(["port"], Strings(invalidPort.GetProperty("violations")));

        var duplicate = summary.GetProperty("duplicate");
        Assert.Equal("ALREADY_EXISTS", duplicate.GetProperty("code").GetString());
        Assert.Equal("duplicate_instance_id", duplicate.GetProperty("reason").GetString());

        var oversized = summary.GetProperty("oversized_beat");
        Assert.Equal("INVALID_ARGUMENT", oversized.GetProperty("code").GetString());
        Assert.Equal(["instance_ids"], Strings(oversized.GetProperty("violations")));

        // Only the one good registration is stored; the refused ones changed nothing.
        var registry = _app.Services.GetRequiredService<ServiceRegistry>();
        var all = (await registry.ListAsync(new ListServicesRequest()).DefaultTimeout()).Instances;
        var stored = Assert.Single(all);
        Assert.Equal(summary.GetProperty("name").GetString(), stored.Name);
        // The stream the oversized beat ended is closed on the server too.
        Assert.Equal((1, 1), (Interlocked.Read(ref _streamsOpened), Interlocked.Read(ref _streamsClosed)));
        AssertNoErrorsLogged();
    }

    private async Task<JsonElement> RunScenarioAsync(string scenario)
    {
        await Prerequisites.RequirePythonGrpcAsync().DefaultTimeout();
        var result = await ExternalProcess.RunAsync(
            Prerequisites.Python,
            ["registry_client.py", "--port", _grpcPort.ToString(CultureInfo.InvariantCulture), scenario],
            ClientTimeout,
            Prerequisites.PythonHarnessDirectory).DefaultTimeout();

        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(result.ExitCode == 0 && lines.Length == 1, $"{result}{Environment.NewLine}--- server log ---{Environment.NewLine}{ServerLog()}");
        var summary = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(scenario, summary.GetProperty("scenario").GetString());
        Assert.True(summary.GetProperty("ok").GetBoolean());
        return summary;
    }

    private void ListenToRegistryMeter(IMeterFactory meterFactory)
    {
        // Only this host's meter (its factory is the meter's scope), not another host's in the same process.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RegistryMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Name is "controlplane.registry.heartbeat_streams" or "controlplane.registry.heartbeats")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "controlplane.registry.heartbeat_streams")
            {
                if (value > 0)
                {
                    Interlocked.Add(ref _streamsOpened, value);
                }
                else
                {
                    Interlocked.Add(ref _streamsClosed, -value);
                }
                return;
            }
            string? result = null, transport = null;
            foreach (var tag in tags)
            {
                result = tag.Key == "result" ? tag.Value as string : result;
                transport = tag.Key == "transport" ? tag.Value as string : transport;
            }
            if (transport == "stream" && result == "renewed")
            {
                Interlocked.Add(ref _streamRenewals, value);
            }
            else if (transport == "stream" && result == "not_found")
            {
                Interlocked.Add(ref _streamNotFound, value);
            }
        });
        _listener.Start();
    }

    private void AssertNoErrorsLogged()
    {
        Assert.NotEmpty(_logs.Records); // the sink does see the host's log
        var errors = _logs.Errors.ToList();
        Assert.True(errors.Count == 0, "The server logged errors:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => $"{e}{Environment.NewLine}{e.Exception}")));
    }

    private string ServerLog() => string.Join(Environment.NewLine, _logs.Records);

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}
