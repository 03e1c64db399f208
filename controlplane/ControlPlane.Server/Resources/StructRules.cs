using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Resources;

/// <summary>What metadata (a google.protobuf.Struct) sent by agents and nodes must be, to be stored, pushed and shown.</summary>
internal static class StructRules
{
    /// <summary>
    /// How deep metadata may nest objects and lists (the metadata object itself is level 1). Nodes
    /// receive instance metadata inside an endpoint set, two levels deeper: past protobuf's nesting
    /// limit (100) a node could not parse the push at all.
    /// </summary>
    public const int MaxDepth = 16;

    /// <summary>The nesting depth of <paramref name="value"/>, counted no further than one past the limit.</summary>
    public static int Depth(Struct value, int level = 1)
    {
        var deepest = level;
        foreach (var field in value.Fields.Values)
        {
            deepest = Math.Max(deepest, Depth(field, level));
            if (deepest > MaxDepth)
            {
                break;
            }
        }
        return deepest;
    }

    private static int Depth(Value value, int level)
    {
        if (level > MaxDepth)
        {
            return level;
        }
        switch (value.KindCase)
        {
            case Value.KindOneofCase.StructValue:
                return Depth(value.StructValue, level + 1);
            case Value.KindOneofCase.ListValue:
                var deepest = level + 1;
                foreach (var item in value.ListValue.Values)
                {
                    deepest = Math.Max(deepest, Depth(item, level + 1));
                    if (deepest > MaxDepth)
                    {
                        break;
                    }
                }
                return deepest;
            default:
                return level;
        }
    }

    /// <summary>
    /// The path of the first value in <paramref name="metadata"/> that JSON cannot carry (a Value with
    /// no kind, which gRPC can send, or a NaN or infinite number), or null: the REST view and the Redis
    /// store could not show it as sent.
    /// </summary>
    public static string? FirstNotJson(Struct metadata, string path)
    {
        foreach (var (key, value) in metadata.Fields)
        {
            if (FirstNotJson(value, path + "." + key) is { } invalid)
            {
                return invalid;
            }
        }
        return null;
    }

    private static string? FirstNotJson(Value value, string path) => value.KindCase switch
    {
        Value.KindOneofCase.None => path,
        Value.KindOneofCase.NumberValue => double.IsFinite(value.NumberValue) ? null : path,
        Value.KindOneofCase.StructValue => FirstNotJson(value.StructValue, path),
        Value.KindOneofCase.ListValue => value.ListValue.Values.Select((v, i) => FirstNotJson(v, $"{path}[{i}]")).FirstOrDefault(p => p is not null),
        _ => null,
    };
}
