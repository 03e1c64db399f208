using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Registry;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>
/// Heartbeats of registered instances: each stream renews its own slice of them, <see cref="Fleet.BeatSize"/>
/// ids per message, round and round; what is counted is instances answered RENEWED.
/// </summary>
internal sealed class HeartbeatLoad
{
    public static readonly Method<HeartbeatStreamRequest, HeartbeatStreamResponse> HeartbeatStream =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("HeartbeatStream"));

    public static readonly Method<HeartbeatStreamRequest, HeartbeatStreamResponse> BaselineHeartbeatStream =
        new(RegistryBaselineReflection.Descriptor.Services[0].FindMethodByName("HeartbeatStream"));

    /// <summary>The beats of each stream, built once; a stream sends them in turn, over and over.</summary>
    private readonly HeartbeatStreamRequest[][] _beats;

    private HeartbeatLoad(HeartbeatStreamRequest[][] beats) => _beats = beats;

    public int Streams => _beats.Length;

    /// <summary>
    /// Splits instances <paramref name="first"/> to <paramref name="first"/> + <paramref name="instances"/>
    /// into one slice per stream, and each slice into full beats (the last one wraps around to the
    /// slice's start, so every message carries the same number of distinct ids).
    /// </summary>
    public static HeartbeatLoad Create(long first, int instances, int streams)
    {
        var beats = new HeartbeatStreamRequest[streams][];
        for (var s = 0; s < streams; s++)
        {
            var start = first + ((long)instances * s / streams);
            var length = (int)(first + ((long)instances * (s + 1) / streams) - start);
            beats[s] = new HeartbeatStreamRequest[(length + Fleet.BeatSize - 1) / Fleet.BeatSize];
            for (var b = 0; b < beats[s].Length; b++)
            {
                var beat = new HeartbeatStreamRequest { BeatId = (ulong)b };
                for (var i = 0; i < Fleet.BeatSize; i++)
                {
                    beat.InstanceIds.Add(Fleet.InstanceId(start + (((b * Fleet.BeatSize) + i) % length)));
                }
                beats[s][b] = beat;
            }
        }
        return new HeartbeatLoad(beats);
    }

    /// <summary>A beat for a one-off check.</summary>
    public HeartbeatStreamRequest SampleBeat => _beats[0][0];

    /// <summary>
    /// One HeartbeatStream call per stream over <paramref name="connections"/> channels. Each keeps
    /// <paramref name="inFlight"/> beats sent ahead of their answers (agents do not wait for one
    /// answer before the next beat), reading answers as they come and checking that they match.
    /// </summary>
    public Task<Sample> OverGrpcAsync(
        Uri address, Method<HeartbeatStreamRequest, HeartbeatStreamResponse> method, int connections, int inFlight, TimeSpan ramp, TimeSpan duration, CancellationToken ct) =>
        OverGrpcAsync([address], method, connections, inFlight, ramp, duration, ct);

    /// <summary>As above, the channels spread round-robin over <paramref name="addresses"/> (control-plane replicas sharing one store).</summary>
    public async Task<Sample> OverGrpcAsync(
        IReadOnlyList<Uri> addresses, Method<HeartbeatStreamRequest, HeartbeatStreamResponse> method, int connections, int inFlight, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        var channels = Enumerable.Range(0, connections).Select(i => GrpcChannel.ForAddress(addresses[i % addresses.Count])).ToArray();
        try
        {
            return await LoadRun.MeasureWithCostAsync(Streams, (load, stream) =>
                StreamAsync(channels[stream % channels.Length], method, _beats[stream], inFlight, load), ramp, duration, ct);
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary><paramref name="callers"/> callers of <see cref="ServiceRegistry.BeatAsync"/>, sharing the streams' beats between them.</summary>
    public Task<Sample> InProcessAsync(ServiceRegistry registry, int callers, TimeSpan ramp, TimeSpan duration, CancellationToken ct) =>
        LoadRun.MeasureWithCostAsync(callers, async (load, caller) =>
        {
            var beats = _beats.Where((_, stream) => stream % callers == caller).SelectMany(b => b).ToArray();
            for (var i = 0; !load.Stopping; i++)
            {
                var beat = beats[i % beats.Length];
                load.Add(Renewed(beat, await registry.BeatAsync(beat, load.Abort)));
                // In process a beat never waits: give the thread back so timers and the window's end are not held up.
                await Task.Yield();
            }
        }, ramp, duration, ct);

    private static async Task StreamAsync(
        GrpcChannel channel, Method<HeartbeatStreamRequest, HeartbeatStreamResponse> method, HeartbeatStreamRequest[] beats, int inFlight, LoadContext load)
    {
        using var call = channel.AsyncDuplexStreamingCall(method, new CallOptions(cancellationToken: load.Abort));
        using var window = new SemaphoreSlim(inFlight);
        // A failed read must also stop the writer, which may be waiting for the window.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(load.Abort);
        var reader = Task.Run(async () =>
        {
            try
            {
                for (var answered = 0; await call.ResponseStream.MoveNext(load.Abort); answered++)
                {
                    load.Add(Renewed(beats[answered % beats.Length], call.ResponseStream.Current));
                    window.Release();
                }
            }
            catch
            {
                await failed.CancelAsync();
                throw;
            }
        }, CancellationToken.None);
        try
        {
            for (var sent = 0; !load.Stopping; sent++)
            {
                await window.WaitAsync(failed.Token);
                await call.RequestStream.WriteAsync(beats[sent % beats.Length]);
            }
            await call.RequestStream.CompleteAsync();
        }
        catch (OperationCanceledException) when (failed.IsCancellationRequested && !load.Abort.IsCancellationRequested)
        {
            // The reader failed: its exception says why.
        }
        await reader;
    }

    /// <summary>How many of <paramref name="beat"/>'s ids <paramref name="response"/> renewed; throws unless all of them, in order.</summary>
    private static int Renewed(HeartbeatStreamRequest beat, HeartbeatStreamResponse response)
    {
        if (response.BeatId != beat.BeatId || response.Results.Count != beat.InstanceIds.Count)
        {
            throw new InvalidOperationException(
                $"Beat {beat.BeatId} with {beat.InstanceIds.Count} ids was answered as beat {response.BeatId} with {response.Results.Count} results.");
        }
        var renewed = 0;
        foreach (var result in response.Results)
        {
            if (result.Outcome != HeartbeatOutcome.Renewed)
            {
                throw new InvalidOperationException($"Instance {result.InstanceId} was not renewed ({result.Outcome}: {result.Message}); did its lease run out between runs?");
            }
            renewed++;
        }
        return renewed;
    }
}
