using System.Diagnostics;
using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Reporting;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Google.Protobuf;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>
/// Issue 3: registrations/s and instance heartbeats/s of the control plane on its embedded store,
/// with the load generator beside it, each beside the transport's rate for the same calls and the
/// registry's own rate in process; and the memory the registry holds per instance.
/// </summary>
internal static class RegistryBenchmark
{
    /// <summary>
    /// Largest difference in response size between registry and baseline for their rates to be
    /// compared: the nanoseconds of a timestamp take 1 to 5 bytes on the wire, so two answers of the
    /// same shape taken at different moments differ by a few bytes per timestamp.
    /// </summary>
    private const double SizeTolerance = 0.05;

    public static async Task<int> RunAsync(RegistrySettings settings, CancellationToken cancellationToken)
    {
#if DEBUG
        Console.Error.WriteLine("warning: a Debug build; benchmark with -c Release.");
#endif
        var load = ProcFs.LoadAverage();
        Console.WriteLine($"{settings.Command}{Environment.NewLine}{Environment.ProcessorCount} cores, load average {load}");
        var clock = Stopwatch.StartNew();
        var (registrations, heartbeats) = settings.Includes(RegistrySettings.Registrations) || settings.Includes(RegistrySettings.Heartbeats)
            ? await MeasureRatesAsync(settings, cancellationToken)
            : (null, null);
        MemoryPerInstance? memory = null;
        if (settings.Includes(RegistrySettings.Memory))
        {
            Console.WriteLine();
            Console.WriteLine($"memory per instance ({settings.Instances:N0} instances, in process)");
            memory = await MemoryPerInstance.MeasureAsync(settings.Instances, settings.HeartbeatRoundsForMemory, cancellationToken);
            Console.WriteLine($"  registered {memory.Registered:N0} B, after one heartbeat each {memory.AfterOneRound:N0} B, after {memory.Rounds} {memory.AfterRounds:N0} B");
        }

        var section = RegistryReport.Section(settings, DateTimeOffset.UtcNow, load, registrations, heartbeats, memory);
        Console.WriteLine();
        Console.WriteLine(section);
        if (settings.Only is not null)
        {
            Console.WriteLine("Not writing the report: --only ran part of the benchmark.");
        }
        else
        {
            BenchmarksDocument.Publish(settings.OutputPath, RegistryReport.Heading, section);
        }
        Console.WriteLine($"Took {clock.Elapsed.TotalSeconds:0} s.");
        return 0;
    }

    /// <summary>The rates, against one control-plane host (in a method of its own, so that nothing of the host stays reachable after it).</summary>
    private static async Task<(Comparison? Registrations, Comparison? Heartbeats)> MeasureRatesAsync(RegistrySettings s, CancellationToken ct)
    {
        await using var host = await RegistryHost.StartAsync(ct);
        Console.WriteLine($"control plane: {host.Grpc}");
        var fleet = new Fleet();
        await PrimeBaselineAsync(host, fleet, ct);
        var registrations = s.Includes(RegistrySettings.Registrations) ? await MeasureRegistrationsAsync(s, host, fleet, ct) : null;
        var heartbeats = s.Includes(RegistrySettings.Heartbeats) ? await MeasureHeartbeatsAsync(s, host, fleet, ct) : null;
        return (registrations, heartbeats);
    }

    /// <summary>The baseline answers with copies of a real registration's and a real renewal's answers.</summary>
    private static async Task PrimeBaselineAsync(RegistryHost host, Fleet fleet, CancellationToken ct)
    {
        var request = fleet.Next();
        var registered = await host.Registry.RegisterAsync(request, ct);
        var beat = new HeartbeatStreamRequest { InstanceIds = { request.InstanceId } };
        var renewed = (await host.Registry.BeatAsync(beat, ct)).Results[0];
        host.Baseline.Prime(registered, renewed);
        await host.Store.DeregisterAsync(request.InstanceId, ct);
    }

    private static async Task<Comparison> MeasureRegistrationsAsync(RegistrySettings s, RegistryHost host, Fleet fleet, CancellationToken ct)
    {
        var load = new RegistrationLoad(fleet, host.Store);
        Console.WriteLine();
        Console.WriteLine("Checking that registry and baseline answer a registration with the same size:");
        using (var channel = GrpcChannel.ForAddress(host.Grpc))
        {
            var first = fleet.Position;
            using var registry = channel.AsyncUnaryCall(RegistrationLoad.Register, fleet.Next(), new CallOptions(cancellationToken: ct));
            using var baseline = channel.AsyncUnaryCall(RegistrationLoad.BaselineRegister, fleet.Next(), new CallOptions(cancellationToken: ct));
            CheckSameSize("Register", await registry, await baseline);
            await host.Store.DeregisterAsync(Fleet.InstanceId(first), ct);
        }
        return await AlternatingRounds.CompareAsync(s, "registrations/s",
        [
            (RegistryReport.Registry, (ramp, duration) =>
                load.OverGrpcAsync(host.Grpc, RegistrationLoad.Register, stored: true, s.Connections, s.CallsPerConnection, ramp, duration, ct)),
            (RegistryReport.Baseline, (ramp, duration) =>
                load.OverGrpcAsync(host.Grpc, RegistrationLoad.BaselineRegister, stored: false, s.Connections, s.CallsPerConnection, ramp, duration, ct)),
            (RegistryReport.LeanRegistry, (ramp, duration) =>
                load.OverLeanHttp2Async(host.Grpc, RegistrationLoad.Register, stored: true, s.Connections, s.CallsPerConnection, ramp, duration, ct)),
            (RegistryReport.LeanBaseline, (ramp, duration) =>
                load.OverLeanHttp2Async(host.Grpc, RegistrationLoad.BaselineRegister, stored: false, s.Connections, s.CallsPerConnection, ramp, duration, ct)),
            (RegistryReport.InProcess, (ramp, duration) =>
                load.InProcessAsync(host.Registry, Environment.ProcessorCount, ramp, duration, ct)),
        ], baseline: 1, ct);
    }

    private static async Task<Comparison> MeasureHeartbeatsAsync(RegistrySettings s, RegistryHost host, Fleet fleet, CancellationToken ct)
    {
        Console.WriteLine();
        var first = fleet.Reserve(s.Instances);
        var clock = Stopwatch.StartNew();
        // In process, one caller per core: the registrations are the setting, not what is measured.
        await Task.WhenAll(Enumerable.Range(0, Environment.ProcessorCount).Select(caller => Task.Run(async () =>
        {
            for (var n = first + caller; n < first + s.Instances; n += Environment.ProcessorCount)
            {
                await host.Registry.RegisterAsync(Fleet.Request(n), ct);
            }
        }, ct)));
        Console.WriteLine($"Registered {s.Instances:N0} instances in process in {clock.Elapsed.TotalSeconds:0.0} s.");
        var load = HeartbeatLoad.Create(first, s.Instances, s.Streams);

        Console.WriteLine("Checking that registry and baseline answer a beat with the same size:");
        using (var channel = GrpcChannel.ForAddress(host.Grpc))
        {
            CheckSameSize("HeartbeatStream",
                await OneBeatAsync(channel, HeartbeatLoad.HeartbeatStream, load.SampleBeat, ct),
                await OneBeatAsync(channel, HeartbeatLoad.BaselineHeartbeatStream, load.SampleBeat, ct));
        }
        return await AlternatingRounds.CompareAsync(s, "instance heartbeats/s",
        [
            (RegistryReport.Registry, (ramp, duration) =>
                load.OverGrpcAsync(host.Grpc, HeartbeatLoad.HeartbeatStream, s.Connections, s.InFlight, ramp, duration, ct)),
            (RegistryReport.Baseline, (ramp, duration) =>
                load.OverGrpcAsync(host.Grpc, HeartbeatLoad.BaselineHeartbeatStream, s.Connections, s.InFlight, ramp, duration, ct)),
            (RegistryReport.InProcess, (ramp, duration) =>
                load.InProcessAsync(host.Registry, Math.Min(Environment.ProcessorCount, load.Streams), ramp, duration, ct)),
        ], baseline: 1, ct);
    }

    private static async Task<HeartbeatStreamResponse> OneBeatAsync(
        GrpcChannel channel, Method<HeartbeatStreamRequest, HeartbeatStreamResponse> method, HeartbeatStreamRequest beat, CancellationToken ct)
    {
        using var call = channel.AsyncDuplexStreamingCall(method, new CallOptions(cancellationToken: ct));
        await call.RequestStream.WriteAsync(beat);
        await call.RequestStream.CompleteAsync();
        if (!await call.ResponseStream.MoveNext(ct))
        {
            throw new InvalidOperationException($"{method.FullName} ended without answering a beat.");
        }
        var response = call.ResponseStream.Current;
        if (await call.ResponseStream.MoveNext(ct) || call.GetStatus().StatusCode != StatusCode.OK)
        {
            throw new InvalidOperationException($"{method.FullName} did not end with one answer and OK.");
        }
        return response;
    }

    private static void CheckSameSize(string method, IMessage registry, IMessage baseline)
    {
        int ours = registry.CalculateSize(), theirs = baseline.CalculateSize();
        Console.WriteLine($"  {method}: registry {ours:N0} bytes, baseline {theirs:N0} bytes");
        if (Math.Abs(ours - theirs) > SizeTolerance * ours)
        {
            throw new InvalidOperationException($"{method}: the baseline's answer ({theirs} bytes) is not the registry's size ({ours} bytes).");
        }
    }
}
