using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing.Internal;

internal sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingAlgorithms.RoundRobin;

    public ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy, BalancerOptions options) =>
        new RoundRobinBalancer(new EndpointTable(endpoints, policy, options), options);
}

/// <summary>
/// Each usable endpoint in turn, in EndpointSet order, from a random start
/// (<see cref="BalancerOptions.RandomizeStart"/>); while some are ejected, each of the others in
/// turn (<see cref="Rotation"/>). A retry takes its turn, or the next endpoint after it that it has not tried.
/// </summary>
internal sealed class RoundRobinBalancer : BalancerBase
{
    private readonly Rotation _rotation;

    public RoundRobinBalancer(EndpointTable table, BalancerOptions options)
        : base(LoadBalancingAlgorithms.RoundRobin, table)
    {
        _rotation = new Rotation(table.Usable, StartOf(table.Usable.Length, options));
    }

    internal static long StartOf(int count, BalancerOptions options) =>
        options.RandomizeStart && count > 1 ? RandomSource.From(options).Next(count) : 0;

    public override BalancerEndpoint? Pick(in PickContext context)
    {
        var filter = Table.Filter(context, Table.Usable, out var ejections);
        return At(_rotation.Next(filter, ejections, out _, out _));
    }

    public override PickExplanation Explain(in PickContext context)
    {
        var filter = Table.Filter(context, Table.Usable, out var ejections);
        var picked = _rotation.Next(filter, ejections, out var slot, out var of);
        return Explained(picked, Describe(Algorithm, At(picked), slot, of), context, Table.Usable, ejections);
    }

    /// <summary><paramref name="count"/>: the endpoints the rotation ran over (the usable ones not ejected).</summary>
    internal static string Describe(string algorithm, BalancerEndpoint? endpoint, int slot, int count) =>
        $"{algorithm}: {endpoint?.InstanceId} is next in rotation (position {slot + 1} of {count})";
}
