using System.Text;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// gRPC status code to HTTP status, as google.rpc.Code documents it (and grpc-gateway and
/// Google's APIs answer), and the default ErrorInfo reason of a status that carries none.
/// </summary>
internal static class HttpStatusMapping
{
    public static int ToHttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499, // "Client Closed Request", per google.rpc.Code
        StatusCode.Unknown => StatusCodes.Status500InternalServerError,
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.FailedPrecondition => StatusCodes.Status400BadRequest,
        StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Internal => StatusCodes.Status500InternalServerError,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DataLoss => StatusCodes.Status500InternalServerError,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// The reason put in the ErrorInfo of an error that has none: the code in snake_case
    /// (<c>not_found</c>), except the operations contract's names for auth (<c>unauthorized</c>) and
    /// unavailability (<c>not_ready</c>).
    /// </summary>
    public static string DefaultReason(StatusCode code) => code switch
    {
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => "unauthorized",
        StatusCode.Unavailable => "not_ready",
        _ => SnakeCase(code.ToString()),
    };

    private static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
