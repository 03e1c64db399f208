using ControlPlane.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Agents.Runtime;

/// <summary>Registry reads several agents make.</summary>
internal static class RegistryReads
{
    public static ListServicesRequest ImageQuery(string image) => new() { Image = image };

    /// <summary>Every instance of <paramref name="image"/> (all pages), any status.</summary>
    public static async Task<IReadOnlyList<Instance>> InstancesAsync(ActionScope scope, string image, CancellationToken ct)
    {
        var request = ImageQuery(image);
        var instances = new List<Instance>();
        do
        {
            var page = await scope.CallAsync(Rpcs.Registry("ListServices"), image, (c, t) => c.Registry.ListServicesAsync(request, t), ct).ConfigureAwait(false);
            instances.AddRange(page.Instances);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return instances;
    }

    public static bool IsLive(Instance instance) => instance.Status is "healthy" or "draining";

    /// <summary>The registered weight (metadata "weight", a whole number 1-10000) by instance id, as the balancers read it.</summary>
    public static IReadOnlyDictionary<string, int> RegisteredWeights(IEnumerable<Instance> instances)
    {
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            if (instance.Metadata?.Fields.TryGetValue("weight", out var value) == true && value.KindCase == Value.KindOneofCase.NumberValue
                && value.NumberValue is >= 1 and <= 10_000 && value.NumberValue == Math.Floor(value.NumberValue))
            {
                weights[instance.InstanceId] = (int)value.NumberValue;
            }
        }
        return weights;
    }
}
