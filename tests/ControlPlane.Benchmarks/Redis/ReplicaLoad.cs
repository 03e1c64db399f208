using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Http2;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Registry;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>
/// The registry benchmark's loads aimed at control planes in processes of their own, spread over
/// one or more of them: registrations from the lean HTTP/2 client (<see cref="LeanUnaryClient"/>),
/// its connections spread round-robin over the addresses; heartbeats from <see cref="HeartbeatLoad"/>,
/// its channels spread the same way. The instances are <see cref="Fleet"/>'s, with the longest lease
/// the registry grants (1 h), so that nothing expires and is pushed while the benchmark runs. After a
/// registration run its instances are deregistered (outside the window), so every run registers into
/// the same store.
/// </summary>
internal static class ReplicaLoad
{
    private const int LeaseSeconds = 3600;

    /// <summary>Calls in flight while registering a population or deregistering after a run (not measured).</summary>
    private const int SetupCallers = 64;

    private static readonly Method<DeregisterRequest, DeregisterResponse> Deregister =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Deregister"));

    /// <summary>Fleet's registration of instance <paramref name="n"/>, with a lease of an hour.</summary>
    public static RegisterRequest Request(long n) => LongLease(Fleet.Request(n));

    private static RegisterRequest LongLease(RegisterRequest request)
    {
        request.TtlSeconds = LeaseSeconds;
        return request;
    }

    /// <summary><paramref name="connections"/> lean connections (spread over <paramref name="addresses"/>) × <paramref name="callsPerConnection"/> Register calls in flight.</summary>
    public static async Task<Sample> RegistrationsAsync(
        IReadOnlyList<Uri> addresses, Fleet fleet, int connections, int callsPerConnection, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        var clients = new LeanUnaryClient[connections];
        var first = fleet.Position;
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                clients[i] = await LeanUnaryClient.ConnectAsync(addresses[i % addresses.Count], RegistrationLoad.Register.Path, ct);
            }
            var sample = await LoadRun.MeasureWithCostAsync(connections, (load, worker) =>
                clients[worker].RunAsync(callsPerConnection, () => LongLease(fleet.Next()), RegistrationLoad.IsNewRegistration, load), ramp, duration, ct);
            // The lean client may take a number for a call its send window did not let it start.
            await DeregisterAsync(addresses, first, fleet.Position, tolerateMissing: connections * callsPerConnection, ct);
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

    /// <summary>Registers instances <paramref name="from"/> to <paramref name="to"/> (excluded) through <paramref name="address"/>, <see cref="SetupCallers"/> at a time.</summary>
    public static Task RegisterAsync(Uri address, long from, long to, CancellationToken ct) =>
        ForEachAsync([address], from, to, async (channel, n, options) =>
        {
            using var call = channel.AsyncUnaryCall(RegistrationLoad.Register, Request(n), options);
            var response = await call.ResponseAsync;
            if (response.Registered != 1)
            {
                throw new InvalidOperationException($"Registering {Fleet.InstanceId(n)} answered registered={response.Registered}.");
            }
            return true;
        }, ct);

    /// <summary>Deregisters instances <paramref name="from"/> to <paramref name="to"/> (excluded); throws when more than <paramref name="tolerateMissing"/> were not registered.</summary>
    private static async Task DeregisterAsync(IReadOnlyList<Uri> addresses, long from, long to, int tolerateMissing, CancellationToken ct)
    {
        var missing = await ForEachAsync(addresses, from, to, async (channel, n, options) =>
        {
            try
            {
                using var call = channel.AsyncUnaryCall(Deregister, new DeregisterRequest { InstanceId = Fleet.InstanceId(n) }, options);
                await call.ResponseAsync;
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                return false;
            }
        }, ct);
        if (missing > tolerateMissing)
        {
            throw new InvalidOperationException($"{missing} of the {to - from} instances this run registered are not in the store.");
        }
    }

    /// <summary>Calls <paramref name="call"/> for every number, <see cref="SetupCallers"/> at a time over channels to <paramref name="addresses"/>; returns how many answered false.</summary>
    private static async Task<long> ForEachAsync(
        IReadOnlyList<Uri> addresses, long from, long to, Func<GrpcChannel, long, CallOptions, Task<bool>> call, CancellationToken ct)
    {
        var channels = addresses.Select(a => GrpcChannel.ForAddress(a)).ToArray();
        var next = from;
        long failed = 0;
        try
        {
            var options = new CallOptions(cancellationToken: ct);
            await Task.WhenAll(Enumerable.Range(0, SetupCallers).Select(caller => Task.Run(async () =>
            {
                for (long n; (n = Interlocked.Increment(ref next) - 1) < to;)
                {
                    if (!await call(channels[caller % channels.Length], n, options))
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }, ct)));
            return failed;
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }
}
