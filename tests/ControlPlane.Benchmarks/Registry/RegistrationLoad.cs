using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Http2;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;
using Google.Protobuf;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>
/// Registrations of new instances, as fast as the callers get answers: unary Register calls over
/// our <see cref="GrpcChannel"/>, or <see cref="ServiceRegistry.RegisterAsync"/> called directly.
/// After a run against the registry its instances are deregistered (outside the window), so every
/// run registers into the same store.
/// </summary>
internal sealed class RegistrationLoad(Fleet fleet, IRegistryStore store)
{
    public static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    public static readonly Method<RegisterRequest, RegisterResponse> BaselineRegister =
        new(RegistryBaselineReflection.Descriptor.Services[0].FindMethodByName("Register"));

    /// <summary>In-process callers hand the thread back now and then, so timers and the window's end are not held up.</summary>
    private const int CallsBetweenYields = 32;

    /// <summary><paramref name="connections"/> channels × <paramref name="callsPerConnection"/> callers, each one call at a time.</summary>
    public async Task<Sample> OverGrpcAsync(
        Uri address, Method<RegisterRequest, RegisterResponse> method, bool stored, int connections, int callsPerConnection, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        var channels = Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress(address)).ToArray();
        var first = fleet.Position;
        try
        {
            var sample = await LoadRun.MeasureWithCostAsync(connections * callsPerConnection, async (load, worker) =>
            {
                var channel = channels[worker % channels.Length];
                var options = new CallOptions(cancellationToken: load.Abort);
                while (!load.Stopping)
                {
                    using var call = channel.AsyncUnaryCall(method, fleet.Next(), options);
                    Check(await call.ResponseAsync);
                    load.Add(1);
                }
            }, ramp, duration, ct);
            if (stored)
            {
                await Fleet.DeregisterAsync(store, first, fleet.Position);
            }
            return sample;
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>
    /// As <see cref="OverGrpcAsync"/>, from the lean HTTP/2 client (<see cref="LeanUnaryClient"/>):
    /// <paramref name="connections"/> connections × <paramref name="callsPerConnection"/> calls in flight.
    /// </summary>
    public async Task<Sample> OverLeanHttp2Async(
        Uri address, Method<RegisterRequest, RegisterResponse> method, bool stored, int connections, int callsPerConnection, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        var clients = new LeanUnaryClient[connections];
        var first = fleet.Position;
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                clients[i] = await LeanUnaryClient.ConnectAsync(address, method.Path, ct);
            }
            var sample = await LoadRun.MeasureWithCostAsync(connections, (load, worker) =>
                clients[worker].RunAsync(callsPerConnection, fleet.Next, IsNewRegistration, load), ramp, duration, ct);
            if (stored)
            {
                await Fleet.DeregisterAsync(store, first, fleet.Position);
            }
            return sample;
        }
        finally
        {
            foreach (var client in clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }
    }

    /// <summary><paramref name="callers"/> callers of the registry itself: no transport, no serialization.</summary>
    public async Task<Sample> InProcessAsync(ServiceRegistry registry, int callers, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        var first = fleet.Position;
        var sample = await LoadRun.MeasureWithCostAsync(callers, async (load, _) =>
        {
            for (var calls = 1; !load.Stopping; calls++)
            {
                Check(await registry.RegisterAsync(fleet.Next(), load.Abort));
                load.Add(1);
                if (calls % CallsBetweenYields == 0)
                {
                    await Task.Yield();
                }
            }
        }, ramp, duration, ct);
        await Fleet.DeregisterAsync(store, first, fleet.Position);
        return sample;
    }

    /// <summary>
    /// RegisterResponse says registered = 1 (field 1) and created = true (field 3): read from its
    /// top-level fields without parsing the instance, as cheaply as the rest of the lean client.
    /// </summary>
    internal static bool IsNewRegistration(ReadOnlyMemory<byte> message)
    {
        var input = new CodedInputStream(message.ToArray());
        ulong registered = 0, created = 0;
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (tag)
            {
                case (1 << 3) | 0:
                    registered = input.ReadUInt64();
                    break;
                case (3 << 3) | 0:
                    created = input.ReadUInt64();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return registered == 1 && created == 1;
    }

    private static void Check(RegisterResponse response)
    {
        if (response.Registered != 1 || !response.Created)
        {
            throw new InvalidOperationException($"Register answered registered={response.Registered}, created={response.Created} for a new instance.");
        }
    }
}
