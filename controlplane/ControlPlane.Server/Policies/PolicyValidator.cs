using System.Buffers;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.LoadBalancing;
using ControlPlane.Server.Registry;
using Google.Protobuf.Collections;

namespace ControlPlane.Server.Policies;

/// <summary>
/// The rules of policy.proto, checked before anything reaches the store: every offending field is
/// named (google.rpc.BadRequest) under reason <c>policy_invalid</c> for writes, and nothing changes.
/// </summary>
internal static class PolicyValidator
{
    /// <summary>The reference's error code for a bad policy.</summary>
    public const string Reason = "policy_invalid";

    public const int MaxWeights = 10_000;
    public const int MaxWeight = 10_000;
    public const int MaxStickyKeyLength = 128;
    public const int MaxReasonLength = 512;

    // A hostile weights map must not turn into a hostile error body.
    private const int MaxReportedWeightViolations = 20;

    private static readonly string Algorithms = string.Join(", ", LoadBalancingAlgorithms.All);

    // RFC 9110 §5.6.2 tchar.
    private static readonly SearchValues<char> TokenChars = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    public static void ValidateSet(SetPolicyRequest request)
    {
        var errors = new List<FieldViolation>();
        CheckImage(errors, request.Image);
        if (request.Algorithm.Length == 0)
        {
            errors.Add(new("algorithm", $"is required: one of {Algorithms}"));
        }
        else if (!LoadBalancingAlgorithms.All.Contains(request.Algorithm, StringComparer.Ordinal))
        {
            errors.Add(new("algorithm", $"'{RegistrationValidator.Truncate(request.Algorithm)}' is not one of {Algorithms}"));
        }
        if (request.StickyKey.Length > MaxStickyKeyLength)
        {
            errors.Add(new("sticky_key", $"is {request.StickyKey.Length} characters; at most {MaxStickyKeyLength} are allowed"));
        }
        else if (request.StickyKey.Length > 0 && !IsToken(request.StickyKey))
        {
            errors.Add(new("sticky_key", $"'{RegistrationValidator.Truncate(request.StickyKey)}' is not an HTTP token (RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~): "
                + "it is looked up as a header name, a cookie name and a query parameter name"));
        }
        else if (request.StickyKey.Length == 0 && request.Algorithm == LoadBalancingAlgorithms.ConsistentHash)
        {
            errors.Add(new("sticky_key", "is required for consistent_hash: the request header, cookie or query parameter to hash (e.g. 'customer_id')"));
        }
        CheckWeights(errors, request.Weights);
        CheckReason(errors, request.Reason);
        ThrowIfAny(errors);
    }

    public static void ValidateDelete(DeletePolicyRequest request)
    {
        var errors = new List<FieldViolation>();
        CheckImage(errors, request.Image);
        CheckReason(errors, request.Reason);
        ThrowIfAny(errors);
    }

    public static void CheckImage(List<FieldViolation> errors, string image)
    {
        if (RegistrationValidator.ImageProblem(image) is { } problem)
        {
            errors.Add(new("image", problem));
        }
    }

    private static void CheckWeights(List<FieldViolation> errors, MapField<string, int> weights)
    {
        if (weights.Count > MaxWeights)
        {
            errors.Add(new("weights", $"has {weights.Count} entries; at most {MaxWeights} are allowed"));
            return;
        }
        var invalid = 0;
        foreach (var (instanceId, weight) in weights)
        {
            var problem = RegistrationValidator.InstanceIdProblem(instanceId) is { } idProblem ? "key " + idProblem + ": weights are keyed by instance id"
                : weight is < 1 or > MaxWeight ? $"must be a whole number between 1 and {MaxWeight} (got {weight})"
                : null;
            if (problem is not null && ++invalid <= MaxReportedWeightViolations)
            {
                errors.Add(new($"weights[{RegistrationValidator.Truncate(instanceId)}]", problem));
            }
        }
        if (invalid > MaxReportedWeightViolations)
        {
            errors.Add(new("weights", $"{invalid - MaxReportedWeightViolations} more invalid entries are not listed"));
        }
    }

    /// <summary>
    /// An HTTP token (RFC 9110 §5.6.2), the syntax of a header field name; cookie names are tokens too
    /// (RFC 6265 §4.1.1), and a query parameter of that name can be written as is.
    /// </summary>
    private static bool IsToken(string value) => !value.AsSpan().ContainsAnyExcept(TokenChars);

    private static void CheckReason(List<FieldViolation> errors, string reason)
    {
        if (reason.Length > MaxReasonLength)
        {
            errors.Add(new("reason", $"is {reason.Length} characters; at most {MaxReasonLength} are allowed"));
        }
    }

    private static void ThrowIfAny(List<FieldViolation> errors)
    {
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(Reason, errors);
        }
    }
}
