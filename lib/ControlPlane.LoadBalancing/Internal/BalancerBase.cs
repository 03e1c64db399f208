namespace ControlPlane.LoadBalancing.Internal;

/// <summary>What every built-in balancer shares: the endpoint table, its name, and the explanation frame.</summary>
internal abstract class BalancerBase(string algorithm, EndpointTable table) : ILoadBalancer
{
    protected EndpointTable Table { get; } = table;

    public string Algorithm { get; } = algorithm;

    public IReadOnlyList<BalancerEndpoint> Endpoints => Table.All;

    public abstract BalancerEndpoint? Pick(in PickContext context);

    public abstract PickExplanation Explain(in PickContext context);

    protected BalancerEndpoint? At(int index) => index < 0 ? null : Table.All[index];

    protected PickExplanation Explained(int picked, string reason, in PickContext context, int[] members, Ejections ejections) =>
        new(At(picked),
            (picked < 0 ? $"{Algorithm}: no endpoint can be picked" : reason) + Table.Notes(ejections),
            Table.Candidates(context, members, ejections),
            ejections is Ejections.Panic or Ejections.TriedAllOthers);
}
