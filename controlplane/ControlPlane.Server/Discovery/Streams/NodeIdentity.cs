using ControlPlane.Api.V1;
using ControlPlane.Api.Validation;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>Validation of what nodes send: their identity on the first request, type URLs and name lists on every request.</summary>
internal static class NodeIdentity
{
    public const string Reason = "invalid_request";
    public const int MaxIdLength = NodeText.MaxLength;
    public const int MaxMetadataEntries = 64;
    public const int MaxMetadataBytes = 8192;

    /// <summary>The node of a stream's first request, checked and copied (the stream keeps it unchanged).</summary>
    public static Node Validate(Node? node)
    {
        List<FieldViolation> violations = [];
        if (node is null)
        {
            violations.Add(new("node", "is required on the first request of a stream"));
        }
        else
        {
            if (node.Id.Length == 0)
            {
                violations.Add(new("node.id", "is required"));
            }
            else if (IdProblem(node.Id) is { } problem)
            {
                violations.Add(new("node.id", problem));
            }
            if (node.Zone.Length > 0)
            {
                CheckText(violations, "node.zone", node.Zone);
            }
            if (node.Region.Length > 0)
            {
                CheckText(violations, "node.region", node.Region);
            }
            if (node.UserAgentName.Length > 0)
            {
                CheckText(violations, "node.user_agent_name", node.UserAgentName);
            }
            if (node.UserAgentVersion.Length > 0)
            {
                CheckText(violations, "node.user_agent_version", node.UserAgentVersion);
            }
            if (node.Metadata is { } metadata)
            {
                if (metadata.Fields.Count > MaxMetadataEntries || metadata.CalculateSize() > MaxMetadataBytes)
                {
                    violations.Add(new("node.metadata", $"has {metadata.Fields.Count} keys and {metadata.CalculateSize()} bytes; at most {MaxMetadataEntries} keys and {MaxMetadataBytes} bytes"));
                }
                else if (StructRules.Depth(metadata) > StructRules.MaxDepth)
                {
                    violations.Add(new("node.metadata", $"nests objects and lists more than {StructRules.MaxDepth} levels deep"));
                }
                else if (StructRules.FirstNotJson(metadata, "node.metadata") is { } path)
                {
                    // The fleet view shows it as JSON: a NaN would make the REST listing unreadable for everyone.
                    violations.Add(new(path, "must be null, a finite number, a string, a boolean, an object or a list"));
                }
            }
        }
        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(Reason, violations);
        }
        return node!.Clone();
    }

    /// <summary>The text rule of ids, zones and regions (<see cref="NodeText"/>).</summary>
    private static void CheckText(List<FieldViolation> violations, string field, string value)
    {
        if (NodeText.Problem(value) is { } problem)
        {
            violations.Add(new(field, problem));
        }
    }

    /// <summary>Why <paramref name="id"/> cannot be a node id, or null (<see cref="NodeText.IdProblem"/>).</summary>
    public static string? IdProblem(string id) => NodeText.IdProblem(id);

    /// <summary>A later request may repeat the node, but not change it (xDS: "the node identifier should always be identical if present more than once").</summary>
    public static void CheckSame(Node? repeated, Node first)
    {
        if (repeated is { Id.Length: > 0 } && repeated.Id != first.Id)
        {
            throw RpcErrors.InvalidArgument(Reason, [new("node.id", $"is '{repeated.Id}', but this stream belongs to node '{first.Id}'")]);
        }
    }

    public static string RequireType(string typeUrl)
    {
        if (typeUrl.Length == 0)
        {
            throw RpcErrors.InvalidArgument(Reason, [new("type_url", "is required")]);
        }
        if (!ResourceTypes.IsKnown(typeUrl))
        {
            throw RpcErrors.InvalidArgument(Reason, [new("type_url", $"'{typeUrl}' is not a resource type of this server; known: {ResourceTypes.EndpointSet}, {ResourceTypes.RoutingPolicy}")]);
        }
        return typeUrl == ResourceTypes.EndpointSet ? ResourceTypes.EndpointSet : ResourceTypes.RoutingPolicy;
    }

    public static void RequireNames(ICollection<string> names, string field, int max)
    {
        if (names.Count > max)
        {
            throw RpcErrors.InvalidArgument(Reason, [new(field, $"carries {names.Count} names; at most {max} per request")]);
        }
        // An ACK carries no names: nothing to enumerate (an enumerator is an allocation per request).
        if (names.Count > 0 && names.Any(n => n.Length == 0))
        {
            throw RpcErrors.InvalidArgument(Reason, [new(field, "contains an empty name")]);
        }
    }
}
