using System.Text.Json;

namespace ControlPlane.TestCommon.Processes;

/// <summary>The control plane's GET /v1/dataplanes, read as a test needs it: per node and resource type, acknowledged and current versions.</summary>
public sealed class FleetView
{
    private readonly Dictionary<string, (string State, Dictionary<string, (string Acked, string Current)> Types)> _nodes;

    private FleetView(Dictionary<string, (string, Dictionary<string, (string, string)>)> nodes) => _nodes = nodes;

    public static FleetView Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var nodes = new Dictionary<string, (string, Dictionary<string, (string, string)>)>(StringComparer.Ordinal);
        foreach (var node in document.RootElement.GetProperty("dataplanes").EnumerateArray())
        {
            var types = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            foreach (var type in node.GetProperty("resource_types").EnumerateArray())
            {
                var url = type.GetProperty("type_url").GetString()!;
                types[url[(url.LastIndexOf('.') + 1)..]] = (type.GetProperty("version_acked").GetString() ?? "", type.GetProperty("version_current").GetString() ?? "");
            }
            nodes[node.GetProperty("node").GetProperty("id").GetString()!] = (node.GetProperty("state").GetString()!, types);
        }
        return new FleetView(nodes);
    }

    /// <summary>Connected, and has acknowledged the control plane's current version of <paramref name="type"/>.</summary>
    public bool Synced(string nodeId, string type) =>
        _nodes.TryGetValue(nodeId, out var node)
        && node.State != "SYNC_STATE_DISCONNECTED"
        && node.Types.TryGetValue(type, out var versions)
        && versions.Acked.Length > 0
        && versions.Acked == versions.Current;

    /// <summary>The control plane's current version of <paramref name="type"/> for the node; null when it has no such stream.</summary>
    public string? Current(string nodeId, string type) =>
        _nodes.TryGetValue(nodeId, out var node) && node.Types.TryGetValue(type, out var versions) ? versions.Current : null;
}
