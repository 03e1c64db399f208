using System.Text.RegularExpressions;
using ControlPlane.Api.V1;
using ControlPlane.Api.Validation;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Registry;

/// <summary>
/// Checks registrations and ids before anything reaches the store: bad input is refused with every
/// offending field named (google.rpc.BadRequest) and changes nothing.
/// </summary>
internal static partial class RegistrationValidator
{
    public const string Reason = "invalid_request";

    // Names: DNS-like labels joined by dots. Images and hosts: the rules every process shares (ControlPlane.Api.Validation).
    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?\\z")]
    private static partial Regex NamePattern();

    // Instance ids appear in URL paths: no '/', no spaces, no control characters.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\\z")]
    private static partial Regex InstanceIdPattern();

    [GeneratedRegex("^[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?\\z")]
    private static partial Regex RegionPattern();

    public static void ValidateRegistration(RegisterRequest request, RegistryOptions options)
    {
        var errors = new List<FieldViolation>();
        Check(errors, "name", request.Name, NamePattern().IsMatch, "a service name: letters, digits, '.', '_' or '-', starting and ending with a letter or digit, up to 128 characters");
        Check(errors, "image", request.Image, ImageName.IsValid, ImageName.Expected);
        Check(errors, "instance_id", request.InstanceId, InstanceIdPattern().IsMatch, "letters, digits, '.', '_', ':' or '-', starting with a letter or digit, up to 128 characters");
        if (request.Host.Length == 0)
        {
            errors.Add(new("host", "is required"));
        }
        else if (!EndpointHost.IsValid(request.Host))
        {
            errors.Add(new("host", $"'{Truncate(request.Host)}' is not a host name or IP address"));
        }
        if (request.Port is < 1 or > 65535)
        {
            errors.Add(new("port", $"must be between 1 and 65535 (got {request.Port})"));
        }
        if (request.Region.Length > 0 && !RegionPattern().IsMatch(request.Region))
        {
            errors.Add(new("region", "lower-case letters, digits, '_' or '-', starting and ending with a letter or digit, up to 64 characters"));
        }
        if (request.TtlSeconds != 0 && (request.TtlSeconds < options.MinTtlSeconds || request.TtlSeconds > options.MaxTtlSeconds))
        {
            errors.Add(new("ttl_seconds", $"must be between {options.MinTtlSeconds} and {options.MaxTtlSeconds} (or 0 for the default {options.DefaultTtlSeconds})"));
        }
        ValidateMetadata(errors, request.Metadata, options);
        ThrowIfAny(errors);
    }

    public static void ValidateTtl(string field, int ttlSeconds, RegistryOptions options)
    {
        if (ttlSeconds != 0 && (ttlSeconds < options.MinTtlSeconds || ttlSeconds > options.MaxTtlSeconds))
        {
            ThrowIfAny([new(field, $"must be between {options.MinTtlSeconds} and {options.MaxTtlSeconds} (or 0 to keep the current TTL)")]);
        }
    }

    public static void ValidateInstanceId(string field, string instanceId)
    {
        var errors = new List<FieldViolation>();
        Check(errors, field, instanceId, InstanceIdPattern().IsMatch, "letters, digits, '.', '_', ':' or '-', starting with a letter or digit, up to 128 characters");
        ThrowIfAny(errors);
    }

    /// <summary>Null when <paramref name="instanceId"/> is a valid id, else what is wrong with it.</summary>
    public static string? InstanceIdProblem(string instanceId) =>
        instanceId.Length == 0 ? "is required" : InstanceIdPattern().IsMatch(instanceId) ? null : "is not a valid instance id";

    /// <summary>Null when <paramref name="image"/> is a valid image name, else what is wrong with it (policies and the route preview name images too).</summary>
    public static string? ImageProblem(string image) =>
        image.Length == 0 ? "is required" : ImageName.IsValid(image) ? null : $"'{Truncate(image)}' is not valid: expected {ImageName.Expected}";

    /// <summary>Null when <paramref name="name"/> is a valid service name, else what is wrong with it.</summary>
    public static string? NameProblem(string name) =>
        name.Length == 0 ? "is required" : NamePattern().IsMatch(name) ? null : $"'{Truncate(name)}' is not valid: expected a service name: letters, digits, '.', '_' or '-', starting and ending with a letter or digit, up to 128 characters";

    public static void ValidateName(string field, string name)
    {
        var errors = new List<FieldViolation>();
        Check(errors, field, name, NamePattern().IsMatch, "a service name: letters, digits, '.', '_' or '-', starting and ending with a letter or digit, up to 128 characters");
        ThrowIfAny(errors);
    }

    private static void ValidateMetadata(List<FieldViolation> errors, Struct? metadata, RegistryOptions options)
    {
        if (metadata is null)
        {
            return;
        }
        if (metadata.Fields.Count > options.MaxMetadataEntries)
        {
            errors.Add(new("metadata", $"has {metadata.Fields.Count} entries; at most {options.MaxMetadataEntries} are allowed"));
        }
        var size = metadata.CalculateSize();
        if (size > options.MaxMetadataBytes)
        {
            errors.Add(new("metadata", $"is {size} bytes encoded; at most {options.MaxMetadataBytes} are allowed"));
        }
        foreach (var (key, _) in metadata.Fields)
        {
            if (key.Length is 0 or > 128)
            {
                errors.Add(new("metadata", "keys must be 1 to 128 characters"));
                break;
            }
        }
        if (StructRules.Depth(metadata) > MaxMetadataDepth)
        {
            // Nodes receive metadata inside an endpoint set, two levels deeper: past protobuf's nesting
            // limit (100) a node could not parse the push at all, and would hold no endpoint set.
            errors.Add(new("metadata", $"nests objects and lists more than {MaxMetadataDepth} levels deep"));
        }
        else if (StructRules.FirstNotJson(metadata, "metadata") is { } path)
        {
            // A Value with no kind (gRPC can send one) or a NaN or infinite number has no JSON form: the
            // REST view and the Redis store could not show it as registered.
            errors.Add(new(path, "must be null, a finite number, a string, a boolean, an object or a list"));
        }
        if (metadata.Fields.TryGetValue("weight", out var weight)
            && (weight.KindCase != Value.KindOneofCase.NumberValue || weight.NumberValue < 1 || weight.NumberValue > 10_000 || weight.NumberValue != Math.Floor(weight.NumberValue)))
        {
            errors.Add(new("metadata.weight", "must be a whole number between 1 and 10000"));
        }
    }

    /// <summary>How deep metadata may nest objects and lists (the metadata object itself is level 1).</summary>
    public const int MaxMetadataDepth = StructRules.MaxDepth;

    private static void Check(List<FieldViolation> errors, string field, string value, Func<string, bool> isValid, string expected)
    {
        if (value.Length == 0)
        {
            errors.Add(new(field, "is required"));
        }
        else if (!isValid(value))
        {
            errors.Add(new(field, $"'{Truncate(value)}' is not valid: expected {expected}"));
        }
    }

    private static void ThrowIfAny(List<FieldViolation> errors)
    {
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(Reason, errors);
        }
    }

    // Echo a little of a bad value for context, never a whole hostile payload.
    public static string Truncate(string value)
    {
        var shown = value.Length <= 64 ? value : value[..64] + "...";
        return new string(shown.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
