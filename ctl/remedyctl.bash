# bash completion for remedyctl(8)                       -*- shell-script -*-
#
# Commands, their options, -o formats, action states, and action ids from
# the daemon itself (remedyctl -o json list), so "remedyctl approve <TAB>"
# offers the pending actions.

_remedyctl_ids()
{
	# $1: state filter (may be empty); quiet when remedyd is not reachable
	local sock=() state=()
	[[ -n $_remedyctl_sock ]] && sock=(-s "$_remedyctl_sock")
	[[ -n $1 ]] && state=(--state "$1")
	remedyctl "${sock[@]}" -o json list "${state[@]}" 2>/dev/null |
	    sed -n 's/^      "id": \([0-9][0-9]*\),*$/\1/p'
}

_remedyctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		# without the bash-completion package
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi

	local commands="status list show approve reject rollback incidents audit watch mcp version help"
	local states="proposed pending refused approved applying applied verified
	    not-recovered failed rejected expired superseded rolled-back"
	local i cmd="" _remedyctl_sock=""

	# global options may stand before or after the command
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket)
			_remedyctl_sock=${words[i + 1]}
			((i++))
			;;
		--socket=*)
			_remedyctl_sock=${words[i]#--socket=}
			;;
		-o | --output | --state | --action | --since | --until | \
		    --actor | --event | -n | --namespace | --comment | \
		    --reason | --limit | --continue)
			((i++))
			;;
		-*) ;;
		*)
			[[ -z $cmd ]] && cmd=${words[i]}
			;;
		esac
	done

	case $prev in
	-s | --socket)
		if declare -F _filedir >/dev/null; then
			_filedir
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return
		;;
	-o | --output)
		COMPREPLY=($(compgen -W "table json yaml" -- "$cur"))
		return
		;;
	--state)
		if [[ $cmd == inc* ]]; then
			COMPREPLY=($(compgen -W "open resolved" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$states" -- "$cur"))
		fi
		return
		;;
	--action)
		COMPREPLY=($(compgen -W "$(_remedyctl_ids)" -- "$cur"))
		return
		;;
	--event)
		COMPREPLY=($(compgen -W "suggested refused approval approved
		    rejected applying applied failed verified not-recovered
		    rolled-back rollback-proposed superseded expired denied" \
		    -- "$cur"))
		return
		;;
	--comment | --reason | --since | --until | --actor | --limit | -n | \
	    --namespace | --continue)
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-s --socket -o --output -h --help
			    --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	if [[ $cur == -* ]]; then
		local global="-s --socket -o --output"
	else
		local global=""
	fi
	case $cmd in
	list)
		COMPREPLY=($(compgen -W "--state -n --namespace --limit --continue --all --help $global" -- "$cur")) ;;
	show)
		COMPREPLY=($(compgen -W "$(_remedyctl_ids) --help" -- "$cur")) ;;
	approve)
		COMPREPLY=($(compgen -W "$(_remedyctl_ids pending) --comment --help" -- "$cur")) ;;
	reject)
		COMPREPLY=($(compgen -W "$(_remedyctl_ids pending) --reason --help" -- "$cur")) ;;
	rollback)
		COMPREPLY=($(compgen -W "$(_remedyctl_ids verified) $(_remedyctl_ids applied) $(_remedyctl_ids not-recovered) --help" -- "$cur")) ;;
	incidents)
		COMPREPLY=($(compgen -W "show --state -n --namespace --limit --continue --help $global" -- "$cur")) ;;
	audit)
		if [[ ${words[cword - 1]} == show ]]; then
			COMPREPLY=($(compgen -W "$(_remedyctl_ids)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "verify show --action --since --until --actor --event -n --namespace --help $global" -- "$cur"))
		fi
		;;
	help)
		COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	*)
		COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
	esac
} &&
	complete -F _remedyctl remedyctl
