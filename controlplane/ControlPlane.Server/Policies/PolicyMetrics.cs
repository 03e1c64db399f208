using System.Diagnostics.Metrics;

namespace ControlPlane.Server.Policies;

/// <summary>
/// The policies' instruments (meter "ControlPlane.Policies"). In Prometheus:
/// <c>controlplane_policy_changes_total{action,result}</c>, with action set|delete and result
/// stored|unchanged|validated|invalid|not_found|version_mismatch.
/// </summary>
public sealed class PolicyMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Policies";

    private readonly Meter _meter;
    private readonly Counter<long> _changes;

    public PolicyMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _changes = _meter.CreateCounter<long>("controlplane.policy.changes", "{change}", "Policy set and delete requests by action and result.");
    }

    public void Change(string action, string result) =>
        _changes.Add(1, new KeyValuePair<string, object?>("action", action), new KeyValuePair<string, object?>("result", result));

    public void Dispose() => _meter.Dispose();
}
