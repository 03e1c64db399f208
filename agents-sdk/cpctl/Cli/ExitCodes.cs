using ControlPlane.Agents;

namespace ControlPlane.Cli;

/// <summary>cpctl's exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>The action succeeded (a dry run included).</summary>
    public const int Ok = 0;

    /// <summary>The action failed (the envelope's error says why).</summary>
    public const int Error = 1;

    /// <summary>The command line, the input or the configuration is wrong, found before anything was sent.</summary>
    public const int Usage = 2;

    /// <summary>The action needs a human's approval (--approve); nothing was changed.</summary>
    public const int ApprovalRequired = 3;

    public static int Of(AgentEnvelope envelope) => envelope.Error?.Code switch
    {
        null => Ok,
        AgentErrorCodes.ApprovalRequired => ApprovalRequired,
        // Input refused before anything was sent (a policy the agent's own checks reject included) is 2; a
        // server's rejection (INVALID_ARGUMENT) is an error after requests were sent (and maybe changes made): 1.
        AgentErrorCodes.InvalidRequest or AgentErrorCodes.ConfigInvalid or AgentErrorCodes.PolicyInvalid when !envelope.SentRequests => Usage,
        _ => Error,
    };
}
