using ControlPlane.Api.V1;
using ControlPlane.Server.Storage;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Resources;

/// <summary>Registry records to the EndpointSet of one image, as every node and the route preview see it.</summary>
public static class EndpointSetBuilder
{
    public const int MaxWeight = 10_000;

    /// <summary>
    /// The routable endpoints of <paramref name="image"/>, ordered by instance id; null when the image has
    /// no instance record at all (the resource is then removed). An image whose records are all expired
    /// (retained until the retention ends) has a set with no endpoints: nodes answer 503 for it, not 404.
    /// </summary>
    public static EndpointSet? Build(string image, IEnumerable<InstanceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var mine = records.Where(r => r.Spec.Image == image).ToList();
        if (mine.Count == 0)
        {
            return null;
        }
        var set = new EndpointSet { Image = image };
        foreach (var record in mine.Where(r => r.IsLive).DistinctBy(r => r.InstanceId, StringComparer.Ordinal).OrderBy(r => r.InstanceId, StringComparer.Ordinal))
        {
            set.Endpoints.Add(ToEndpoint(record));
        }
        return set;
    }

    /// <summary>One live instance as an endpoint.</summary>
    public static Api.V1.Endpoint ToEndpoint(InstanceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var spec = record.Spec;
        var metadata = spec.Metadata;
        return new Api.V1.Endpoint
        {
            InstanceId = spec.InstanceId,
            ServiceName = spec.Name,
            Host = spec.Host,
            Port = spec.Port,
            Weight = WeightOf(metadata),
            Region = spec.Region,
            Status = record.Status == InstanceStatus.Draining ? "draining" : "healthy",
            Metadata = metadata ?? new Struct(),
        };
    }

    /// <summary>The metadata "weight" when it is a whole number 1-10000, else 1.</summary>
    public static int WeightOf(Struct? metadata) =>
        metadata is not null
        && metadata.Fields.TryGetValue("weight", out var w)
        && w.KindCase == Value.KindOneofCase.NumberValue
        && w.NumberValue is >= 1 and <= MaxWeight
        && w.NumberValue == Math.Floor(w.NumberValue)
            ? (int)w.NumberValue
            : 1;
}
