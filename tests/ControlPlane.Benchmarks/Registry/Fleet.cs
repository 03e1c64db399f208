using System.Globalization;
using ControlPlane.Api.V1;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>
/// The instances the benchmark registers, numbered by one counter so that no two share an id or a
/// host:port. Each carries what an agent's registration carries: a service name and image (32
/// services), a region, metadata {"weight": 2} and a 30 s TTL. Every field has a fixed width, so
/// every registration, beat and answer of one kind has the same size on the wire.
/// </summary>
internal sealed class Fleet
{
    /// <summary>Ids per heartbeat-stream message: the most the registry accepts by default.</summary>
    public static readonly int BeatSize = new RegistryOptions().MaxInstancesPerBeat;

    private const int Services = 32;
    private static readonly string[] Names = [.. Enumerable.Range(0, Services).Select(s => $"svc-{s:D2}")];
    // Image names allow no "/" (an image is one path segment of /g/{image}/...): a registry name, dotted.
    private static readonly string[] Images = [.. Names.Select(n => $"registry.local.{n}:1.4.2")];
    private static readonly string[] Regions = ["eu-central", "eu-west-1", "us-east-1"];

    private long _next;

    /// <summary>The next number to hand out: the instances numbered from one reading to a later one are those handed out in between.</summary>
    public long Position => Interlocked.Read(ref _next);

    /// <summary>A registration of the next instance.</summary>
    public RegisterRequest Next() => Request(Interlocked.Increment(ref _next) - 1);

    /// <summary>Sets aside <paramref name="count"/> numbers; returns the first.</summary>
    public long Reserve(int count) => Interlocked.Add(ref _next, count) - count;

    /// <summary>"svc-07-00012345": fixed width up to 10^8 instances.</summary>
    public static string InstanceId(long n) => string.Create(CultureInfo.InvariantCulture, $"{Names[n % Services]}-{n:D8}");

    /// <summary>The registration of instance <paramref name="n"/>, with its own metadata object as if just parsed.</summary>
    public static RegisterRequest Request(long n) => new()
    {
        Name = Names[n % Services],
        Image = Images[n % Services],
        InstanceId = InstanceId(n),
        // 10.1xx.1xx.1xx:8xxx, unique for 2^21 × 1000 numbers; IPv4 as agents register.
        Host = string.Create(CultureInfo.InvariantCulture, $"10.{100 + ((n >> 14) & 0x7F)}.{100 + ((n >> 7) & 0x7F)}.{100 + (n & 0x7F)}"),
        Port = 8080 + (int)((n >> 21) % 1000),
        Region = Regions[n % Regions.Length],
        Metadata = new Struct { Fields = { ["weight"] = Value.ForNumber(2) } },
        TtlSeconds = 30,
    };

    /// <summary>The registration as the server gets it: parsed from its wire bytes, so no string or object is shared with any other.</summary>
    public static RegisterRequest FromWire(long n) => RegisterRequest.Parser.ParseFrom(Request(n).ToByteArray());

    /// <summary>Removes the instances numbered <paramref name="from"/> to <paramref name="to"/> (excluded) from the store, so the next run starts from the same store and heap.</summary>
    public static async Task DeregisterAsync(IRegistryStore store, long from, long to)
    {
        var missing = 0L;
        for (var n = from; n < to; n++)
        {
            if (await store.DeregisterAsync(InstanceId(n)) is null)
            {
                missing++;
            }
        }
        if (missing > 0)
        {
            throw new InvalidOperationException($"{missing} of the {to - from} instances this run registered are not in the store.");
        }
        // And from the same heap: the in-process run leaves hundreds of thousands of dead instances,
        // whose full collection would otherwise land in whichever run comes next.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }
}
